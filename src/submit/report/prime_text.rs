//! Primes as decimal text, one per line: what `primes --output FILE`
//! writes, and on a fast link the head's busiest loop (50 million lines
//! for the primes below 10^9): two digits a division, written into a
//! buffer on the stack.
//!
//! (Adding each gap to the last prime's digits in decimal, eight digits
//! at a time in a u64, measured no faster than this two-digits-a-division
//! conversion on the test VM, and was three times the code: not kept.)

use crate::submit::report::output::{Format, OutputError};

/// The renderer.
pub struct PrimeText;

impl Format for PrimeText {
    fn render(&mut self, payload: &[u8], out: &mut Vec<u8>) -> Result<(), OutputError> {
        whole_primes(payload)?;
        // Lines are built in a buffer on the stack and appended a few KiB
        // at once: appending each prime's digits was a call to memmove per
        // prime, 40 % of primes --output's head time (perf).
        let mut batch = [0u8; 4096];
        let mut used = 0;
        out.reserve(payload.len() / 8 * 11);
        for chunk in payload.chunks_exact(8) {
            let n =
                u64::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7]]);
            let len = decimal_len(n);
            if used + len + 1 > batch.len() {
                out.extend_from_slice(&batch[..used]);
                used = 0;
            }
            write_digits(&mut batch[used..used + len], n);
            batch[used + len] = b'\n';
            used += len + 1;
        }
        out.extend_from_slice(&batch[..used]);
        Ok(())
    }
}

/// A primes partial is whole u64 values, or a worker's bad answer.
pub fn whole_primes(payload: &[u8]) -> Result<(), OutputError> {
    if payload.len() % 8 != 0 {
        return Err(OutputError::BadPayload(format!(
            "a primes partial of {} bytes is not whole u64 values",
            payload.len()
        )));
    }
    Ok(())
}

/// "00" to "99": two digits per division.
const DIGIT_PAIRS: &[u8; 200] = b"\
    0001020304050607080910111213141516171819\
    2021222324252627282930313233343536373839\
    4041424344454647484950515253545556575859\
    6061626364656667686970717273747576777879\
    8081828384858687888990919293949596979899";

/// `n`'s decimal digits into `into`, which is exactly `decimal_len(n)` long.
fn write_digits(into: &mut [u8], mut n: u64) {
    let mut end = into.len();
    while end >= 2 {
        let pair = (n % 100) as usize * 2;
        n /= 100;
        into[end - 2..end].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
        end -= 2;
    }
    if end == 1 {
        into[0] = b'0' + n as u8;
    }
}

/// How many decimal digits `n` has (1 for 0).
fn decimal_len(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |l| l as usize + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(values: &[u64]) -> String {
        let payload: Vec<u8> = values.iter().flat_map(|p| p.to_be_bytes()).collect();
        let mut out = b"kept\n".to_vec();
        let mut text = PrimeText;
        // In two calls, as partials come.
        let half = payload.len() / 16 * 8;
        text.render(&payload[..half], &mut out).unwrap();
        text.render(&payload[half..], &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn formatted(values: &[u64]) -> String {
        let lines: String = values.iter().map(|v| format!("{v}\n")).collect();
        format!("kept\n{lines}")
    }

    #[test]
    fn every_length_and_both_ends() {
        let mut values = vec![0, 1, 2, 9, u64::MAX, u64::MAX - 1];
        for k in 1..20u32 {
            let p = 10u64.pow(k);
            values.extend([p - 1, p, p + 1]);
        }
        assert_eq!(render(&values), formatted(&values));
    }

    #[test]
    fn steps_carry_through_every_power_of_ten() {
        // Steps of every size, from just below each
        // power of ten, so that carries ripple into a new first digit.
        let mut values = Vec::new();
        for k in 1..20u32 {
            let mut v = 10u64.pow(k) - 7;
            values.push(v);
            for step in [1, 2, 6, 9, 10, 11, 99, 100, 1001, 65_536, 1 << 20, (1 << 20) + 1] {
                v = v.saturating_add(step);
                values.push(v);
            }
        }
        assert_eq!(render(&values), formatted(&values));
    }

    #[test]
    fn the_primes_below_a_million() {
        let mut sieve = vec![true; 1_000_000];
        let mut primes = Vec::new();
        for n in 2..sieve.len() {
            if sieve[n] {
                primes.push(n as u64);
                (n * n..sieve.len()).step_by(n).for_each(|m| sieve[m] = false);
            }
        }
        assert_eq!(primes.len(), 78_498);
        assert_eq!(render(&primes), formatted(&primes));
    }
}
