use leofs_bench::engine_bench::{raw_read_phase, Limits};
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let conc: usize = a[2].parse().unwrap();
    let len: usize = a[3].parse().unwrap();
    let p = leofs_rt::block_on(raw_read_phase(std::path::Path::new(&a[1]), 4096, 64 << 20, len, Limits { seconds: 5.0, max_ops: 10_000_000, concurrency: conc }));
    println!("{:?}", p.map(|p| (p.ops_per_sec as u64, p.lat_p50_us as u64)));
}
