//! Sets the linker flags a Node addon needs (napi's symbols come from the
//! node process that loads it).

fn main() {
    napi_build::setup();
}
