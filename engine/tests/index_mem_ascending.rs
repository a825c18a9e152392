//! Index RAM with keys inserted in ascending order, the worst case for B-tree node fill
//! (splits leave leaves about half full). Its own test binary, so resident-set readings are
//! not disturbed by another test in the same process.

mod common;

#[global_allocator]
static A: leofs_rt::alloc::Counting = leofs_rt::alloc::Counting;

#[test]
fn one_million_entries_in_ascending_order_cost_at_most_128_bytes_plus_key() {
    common::measure(|i| i);
}
