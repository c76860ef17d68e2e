//! Bridges against a real `nats-server` (Debian's package is enough), each
//! test with its own server on 127.0.0.1 and a free port, inside a private
//! network namespace of its own (`netns_test::run`).

mod auth;
mod bad_input;
mod both_ways;
mod connect_errors;
mod other_bridge;
mod plain_client;
mod restart;
mod server;
mod support;
mod tls;
