//! Index RAM per object at 1M objects, keys inserted in scattered order (see common/).

mod common;

#[global_allocator]
static A: leofs_rt::alloc::Counting = leofs_rt::alloc::Counting;

#[test]
fn one_million_entries_in_scattered_order_cost_at_most_128_bytes_plus_key() {
    common::measure(|i| i * 7919);
}
