//! A smaller copy of a job, for `bench --predict` to time on one core:
//! the same kind of work from the middle of the job's range (or file), and
//! the share of the whole job it is. What the copy writes (primes'
//! --output, a slice of reduce's file) goes to a scratch folder.

use crate::submit::error::SubmitError;
use crate::submit::plans::values::{input::is_npy_name, Dtype};
use crate::submit::plans::JobSpec;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The job's amount of work in its own units (darts, inner iterations,
/// numbers, bytes), and the units of the first sample.
pub fn units(job: &JobSpec) -> Result<(f64, f64), SubmitError> {
    Ok(match job {
        JobSpec::Pi { samples, .. } => (*samples as f64, (1u64 << 22) as f64),
        JobSpec::Loopsum(p) => ((p.t1 - p.t0) as f64 * p.u_len as f64, (1u64 << 22) as f64),
        JobSpec::Primes { a, b, .. } => ((b - a + 1) as f64, (1u64 << 22) as f64),
        JobSpec::Echo { bytes } => (*bytes as f64, (1u64 << 20) as f64),
        JobSpec::Reduce { input, .. } => (file_len(input)? as f64, (4u64 << 20) as f64),
        // A few numbers: the whole job is its own sample.
        _ => (1.0, 1.0),
    })
}

/// A copy of `job` with about `share` of its work, and the share it
/// really has (whole units, whole lines).
pub fn scaled(job: &JobSpec, share: f64, scratch: &Path) -> Result<(JobSpec, f64), SubmitError> {
    let share = share.clamp(0.0, 1.0);
    // `k` of `n` units from the middle (at least one, if there is one).
    let middle = |n: u64| {
        let k = ((n as f64 * share).round() as u64).clamp(n.min(1), n);
        ((n - k) / 2, k)
    };
    // An empty job is its own whole sample.
    let part = |k: u64, n: u64| if n == 0 { 1.0 } else { k as f64 / n as f64 };
    Ok(match job {
        JobSpec::Pi { samples, seed } => {
            let (_, k) = middle(*samples);
            (JobSpec::Pi { samples: k, seed: *seed }, part(k, *samples))
        }
        JobSpec::Loopsum(p) => {
            let rows = (p.t1 - p.t0).max(0) as u64;
            let (skip, k) = middle(rows);
            let t0 = p.t0 + skip as i64;
            let sample = crate::jobs::loopsum::Params { t0, t1: t0 + k as i64, ..*p };
            (JobSpec::Loopsum(sample), part(k, rows))
        }
        JobSpec::Primes { a, b, output } => {
            let (skip, k) = middle(b - a + 1);
            let output = output.as_ref().map(|_| scratch.join("primes.txt"));
            (JobSpec::Primes { a: a + skip, b: a + skip + k - 1, output }, part(k, b - a + 1))
        }
        JobSpec::Echo { bytes } => {
            let (_, k) = middle(*bytes);
            (JobSpec::Echo { bytes: k }, part(k, *bytes))
        }
        JobSpec::Reduce { op, dtype, input } => {
            let (slice, got) = slice_of(input, *dtype, share, &scratch.join("reduce.sample"))?;
            (JobSpec::Reduce { op: *op, dtype: *dtype, input: slice }, got)
        }
        other => (other.clone(), 1.0),
    })
}

/// The job as `pisubmit` would run it, but writing into `scratch`: to
/// count the pieces it is cut into.
pub fn harmless(job: &JobSpec, scratch: &Path) -> JobSpec {
    match job {
        JobSpec::Primes { a, b, output: Some(_) } => {
            JobSpec::Primes { a: *a, b: *b, output: Some(scratch.join("primes.txt")) }
        }
        other => other.clone(),
    }
}

fn file_len(path: &Path) -> Result<u64, SubmitError> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| SubmitError::Usage(format!("--input {}: cannot read: {e}", path.display())))
}

/// Copies about `share` of `input`, from its middle, to `to`: whole 8-byte
/// values, or whole lines of text. Returns the copy and its share.
fn slice_of(input: &Path, dtype: Option<Dtype>, share: f64, to: &Path) -> Result<(PathBuf, f64), SubmitError> {
    let cannot = |e: std::io::Error| SubmitError::Usage(format!("--input {}: cannot read: {e}", input.display()));
    if is_npy_name(input) {
        return Err(SubmitError::Usage(format!(
            "--input {}: bench --predict does not sample .npy files yet: give the values as a tofile() file and \
             --dtype",
            input.display()
        )));
    }
    let len = file_len(input)?;
    let dtype = dtype.unwrap_or(Dtype::Text);
    let text = dtype == Dtype::Text;
    let width = dtype.width().unwrap_or(1) as u64;
    let want = ((len as f64 * share) as u64).max(width).min(len) / width * width;
    let start = (len - want) / 2 / width * width;
    // Text: from the byte before, to see whether `start` begins a line,
    // and some after, to end at a newline.
    let (from, extra) = if text { (start.saturating_sub(1), 64 * 1024) } else { (start, 0) };
    let mut file = std::fs::File::open(input).map_err(cannot)?;
    file.seek(SeekFrom::Start(from)).map_err(cannot)?;
    let mut bytes = Vec::new();
    file.take(start - from + want + extra).read_to_end(&mut bytes).map_err(cannot)?;
    let mut slice = &bytes[..];
    if text {
        let newline = |b: &u8| *b == b'\n';
        if start > 0 {
            slice = &slice[slice.iter().position(newline).map_or(slice.len(), |i| i + 1)..];
        }
        let within = &slice[..slice.len().min(want as usize)];
        let end = within.iter().rposition(newline).or_else(|| slice.iter().position(newline));
        slice = &slice[..end.map_or(slice.len(), |i| i + 1)];
    }
    std::fs::write(to, slice)
        .map_err(|e| SubmitError::Usage(format!("bench --predict: cannot write {}: {e}", to.display())))?;
    let share = if len == 0 { 1.0 } else { slice.len() as f64 / len as f64 };
    Ok((to.to_path_buf(), share))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("piw-sample-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn samples_come_from_the_middle_and_know_their_share() {
        let dir = scratch("ranges");
        let (s, share) = scaled(&JobSpec::Primes { a: 1, b: 1000, output: None }, 0.1, &dir).unwrap();
        assert!(matches!(s, JobSpec::Primes { a: 451, b: 550, output: None }), "{s:?}");
        assert_eq!(share, 0.1);
        let (s, _) = scaled(&JobSpec::Primes { a: 1, b: 1000, output: Some("/x".into()) }, 0.1, &dir).unwrap();
        assert!(matches!(s, JobSpec::Primes { output: Some(p), .. } if p.starts_with(&dir)));
        let (s, share) = scaled(&JobSpec::Pi { samples: 3, seed: 1 }, 0.01, &dir).unwrap();
        assert!(matches!(s, JobSpec::Pi { samples: 1, .. }) && share == 1.0 / 3.0);
        // Nothing to do is the whole job: no division by zero, no loop.
        let (s, share) = scaled(&JobSpec::Echo { bytes: 0 }, 0.5, &dir).unwrap();
        assert!(matches!(s, JobSpec::Echo { bytes: 0 }) && share == 1.0);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_text_slice_holds_whole_lines() {
        let dir = scratch("text");
        let input = dir.join("in.txt");
        let text: String = (0..1000).map(|i| format!("{}\n", i * 7919)).collect();
        std::fs::write(&input, &text).unwrap();
        let spec = JobSpec::Reduce { op: crate::jobs::reduce::Op::Sum, dtype: None, input };
        let (s, share) = scaled(&spec, 0.1, &dir).unwrap();
        let JobSpec::Reduce { input: slice, .. } = s else { panic!("{s:?}") };
        let got = std::fs::read_to_string(slice).unwrap();
        assert!(got.ends_with('\n') && text.contains(&got), "whole lines of the file: {got:?}");
        assert!((share - got.len() as f64 / text.len() as f64).abs() < 1e-12 && (0.05..0.15).contains(&share));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
