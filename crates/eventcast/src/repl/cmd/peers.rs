//! `peers`: the other nodes of the group, once they are tracked.

use super::Spec;

pub(super) const SPEC: Spec = Spec {
    name: "peers",
    usage: "peers",
    about: "the other nodes of the group (not tracked yet)",
};

pub(super) fn run() -> String {
    "peers are not tracked yet (`stats` counts the senders heard); `on NAME` shows \
     who emits"
        .to_owned()
}
