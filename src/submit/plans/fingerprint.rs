//! What a job log records of the command it logs (`--joblog`): the job's
//! parameters and its input file's size and hash, so that `--resume`
//! refuses a log of another command. Hosts are left out: the cluster may
//! change between a run and its resumption.

use crate::submit::error::SubmitError;
use crate::submit::plans::JobSpec;
use std::io::Read;
use std::path::Path;

/// (name, value) pairs; a value is printed so that equal values, and only
/// they, print the same (f64 in Rust's shortest round-trip form).
pub type Params = Vec<(String, String)>;

fn pair(name: &str, value: impl ToString) -> (String, String) {
    (name.to_string(), value.to_string())
}

/// A list of numbers: short ones in full, long ones by count and hash.
fn numbers(values: &[f64]) -> String {
    let text: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
    let joined = text.join(",");
    if joined.len() <= 200 {
        return joined;
    }
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_bits().to_le_bytes()).collect();
    format!("{} numbers, xxh3 {:016x}", values.len(), crate::xxh3::xxh3_64(&bytes))
}

/// The size and xxh3-64 of a file, read once from start to end.
pub fn file_digest(path: &Path, flag: &str) -> Result<String, SubmitError> {
    let bad = |e: std::io::Error| SubmitError::Usage(format!("{flag} {}: {e}", path.display()));
    let mut file = std::fs::File::open(path).map_err(bad)?;
    let mut hasher = crate::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(bad)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok(format!("{size} bytes, xxh3 {:016x}", hasher.digest()))
}

/// The fingerprint of a built-in job.
pub fn of_job(spec: &JobSpec) -> Result<Params, SubmitError> {
    Ok(match spec {
        JobSpec::Loopsum(p) => vec![
            pair("t-range", format!("{}..{}", p.t0, p.t1)),
            pair("u-len", p.u_len),
            pair("c", format!("{:?}", p.c)),
        ],
        JobSpec::Pi { samples, seed } => vec![pair("samples", samples), pair("seed", seed)],
        JobSpec::Primes { a, b, output } => {
            let mut p = vec![pair("a", a), pair("b", b)];
            if let Some(path) = output {
                p.push(pair("output", path.display()));
            }
            p
        }
        JobSpec::Powers { nums, exps } => vec![pair("nums", numbers(nums)), pair("exps", numbers(exps))],
        JobSpec::Reduce { op, dtype, input } => vec![
            pair("op", op.name()),
            pair("dtype", dtype_fingerprint(*dtype, input)),
            pair("input", input.display()),
            pair("input-data", file_digest(input, "--input")?),
        ],
        JobSpec::Echo { bytes } => vec![pair("bytes", bytes)],
        JobSpec::Farm { ordered } => vec![pair("ordered", ordered)],
        JobSpec::Ping => Vec::new(),
    })
}

/// --dtype as a job log records it. f64 and i64 were big-endian until
/// issue 19 (logged as "f64" then): little-endian ones are logged as
/// "f64le", so an old log is not resumed with the new meaning.
fn dtype_fingerprint(dtype: Option<crate::submit::plans::values::Dtype>, input: &std::path::Path) -> String {
    use crate::submit::plans::values::{input::is_npy_name, Dtype};
    match dtype {
        None if is_npy_name(input) => "npy".into(),
        None => "text".into(),
        Some(Dtype::Binary(b)) if !b.big_endian && b.width > 1 => format!("{}le", b.name()),
        Some(d) => d.name(),
    }
}
