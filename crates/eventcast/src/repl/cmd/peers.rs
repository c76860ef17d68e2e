//! `peers`: the other nodes of the group, once they are tracked.

use super::Spec;

pub(super) const SPEC: Spec = Spec {
    name: "peers",
    usage: "peers",
    about: "the other nodes of the group (not tracked yet: heartbeats come with \
            loss recovery)",
};

pub(super) fn run() -> String {
    "peers are not tracked yet (heartbeats come with loss recovery); `on NAME` shows \
     who emits"
        .to_owned()
}
