//! `pisubmit life`'s options: the board, where it starts, how it is run,
//! and what is written.

use crate::life::Edges;
use crate::submit::cli::args::{next_flag, text, Args};
use crate::submit::cli::values::{count, number, seconds, unknown, usage};
use crate::submit::error::SubmitError;
use crate::submit::plans::life::peers::Borders;
use crate::submit::plans::life::{Checkpoint, LifeOpts, Start, MAX_CELLS, MAX_SIDE};
use std::path::PathBuf;
use std::time::Duration;

pub const DEFAULT_CHECKPOINT: Duration = Duration::from_secs(10);

pub fn parse_life(p: &mut Args) -> Result<LifeOpts, SubmitError> {
    let mut o = LifeOpts {
        width: None,
        height: None,
        generations: 0,
        start: Start::Random { density: 0.0, seed: 1 },
        edges: None,
        exchange_every: None,
        borders: None,
        checkpoint: Checkpoint::Every(DEFAULT_CHECKPOINT),
        checkpoint_file: None,
        resume: false,
        output: None,
        frames: None,
        every: None,
        scale: 1,
        show: false,
        delay: Duration::from_millis(50),
    };
    let (mut generations, mut input, mut density, mut seed) = (None, None, None, 1u64);
    while let Some(flag) = next_flag(p, "life")? {
        match flag {
            "width" => o.width = Some(side(&text(p, "--width")?, "--width")?),
            "height" => o.height = Some(side(&text(p, "--height")?, "--height")?),
            "generations" => generations = Some(count(&text(p, "--generations")?, "--generations")?),
            "input" => input = Some(PathBuf::from(text(p, "--input")?)),
            "random" => {
                let v = text(p, "--random")?;
                let d: f64 = number(&v, "--random", "a density between 0 and 1")?;
                if !(0.0..=1.0).contains(&d) {
                    return Err(usage(format!("--random: {v} is not a density between 0 and 1")));
                }
                density = Some(d);
            }
            "seed" => seed = number(&text(p, "--seed")?, "--seed", "a whole number")?,
            "wrap" => o.edges = Some(Edges::Wrap),
            "dead" => o.edges = Some(Edges::Dead),
            "exchange-every" => {
                let v = text(p, "--exchange-every")?;
                let k: u32 = number(&v, "--exchange-every", "a number of generations")?;
                if k == 0 {
                    return Err(usage("--exchange-every must be at least 1 generation"));
                }
                o.exchange_every = Some(k);
            }
            "borders" => {
                let v = text(p, "--borders")?;
                let borders =
                    Borders::parse(&v).ok_or_else(|| usage(format!("--borders: {v:?} is not peers or head")))?;
                o.borders = Some(borders);
            }
            "checkpoint-every" => o.checkpoint = parse_checkpoint(&text(p, "--checkpoint-every")?)?,
            "no-checkpoint" => o.checkpoint = Checkpoint::Off,
            "checkpoint" => o.checkpoint_file = Some(PathBuf::from(text(p, "--checkpoint")?)),
            "output" => o.output = Some(PathBuf::from(text(p, "--output")?)),
            "frames" => o.frames = Some(PathBuf::from(text(p, "--frames")?)),
            "every" => {
                let n = count(&text(p, "--every")?, "--every")?;
                if n == 0 {
                    return Err(usage("--every must be at least 1 generation"));
                }
                o.every = Some(n);
            }
            "scale" => {
                let v = text(p, "--scale")?;
                o.scale = number(&v, "--scale", "a whole number of pixels")?;
                if !(1..=64).contains(&o.scale) {
                    return Err(usage(format!("--scale: {v} is not in 1..=64 pixels per cell")));
                }
            }
            "show" => o.show = true,
            "delay" => {
                let v = text(p, "--delay")?;
                let ms: u64 = number(&v, "--delay", "a number of milliseconds")?;
                o.delay = Duration::from_millis(ms);
            }
            other => return Err(unknown("life", other)),
        }
    }
    o.generations = generations.ok_or_else(|| usage("life: --generations N is required"))?;
    o.start = match (input, density) {
        (Some(_), Some(_)) => return Err(usage("life: give --input FILE or --random DENSITY, not both")),
        (Some(path), None) => Start::File(path),
        (None, Some(density)) => Start::Random { density, seed },
        (None, None) => {
            return Err(usage("life: give the starting board: --input FILE (RLE or .cells) or --random DENSITY"))
        }
    };
    if o.every.is_some() && o.frames.is_none() && !o.show {
        return Err(usage("life: --every says how often to draw: give --frames DIR or --show too"));
    }
    if o.checkpoint_file.is_some() && o.checkpoint == Checkpoint::Off {
        return Err(usage("life: --checkpoint FILE writes the checkpoints, so they cannot be off"));
    }
    if let (Some(w), Some(h)) = (o.width, o.height) {
        if u64::from(w) * u64::from(h) > MAX_CELLS {
            return Err(usage(format!("life: a {w}x{h} board is more than {MAX_CELLS} cells")));
        }
    }
    Ok(o)
}

/// The global --resume (or --resume-failed) for life: it goes on from the
/// --checkpoint file, which must be given (a job log only records).
pub fn take_resume(o: &mut LifeOpts, resume: bool) -> Result<(), SubmitError> {
    if resume && o.checkpoint_file.is_none() {
        return Err(usage(
            "life: --resume goes on from the board in --checkpoint FILE: give it (a --joblog only records the \
             strips' runs)",
        ));
    }
    o.resume = resume;
    Ok(())
}

fn side(v: &str, flag: &str) -> Result<u32, SubmitError> {
    let n: u32 = number(v, flag, "a whole number of cells")?;
    if n == 0 || n > MAX_SIDE {
        return Err(usage(format!("{flag}: {v} is not in 1..={MAX_SIDE} cells")));
    }
    Ok(n)
}

/// `30s` (time), `500` (generations) or `off`.
fn parse_checkpoint(v: &str) -> Result<Checkpoint, SubmitError> {
    let t = v.trim();
    if t == "off" || t == "0" {
        return Ok(Checkpoint::Off);
    }
    if let Some(secs) = t.strip_suffix('s') {
        return Ok(Checkpoint::Every(seconds(secs, "--checkpoint-every")?));
    }
    let n = count(t, "--checkpoint-every").map_err(|_| {
        usage(format!("--checkpoint-every: {v:?} is not a number of generations, a time like 30s, or off"))
    })?;
    Ok(Checkpoint::Generations(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<LifeOpts, SubmitError> {
        let mut p = Args::after("life", args);
        parse_life(&mut p)
    }

    #[test]
    fn defaults_and_forms() {
        let o = parse(&["--generations", "1e3", "--random", "0.3"]).unwrap();
        assert_eq!(o.generations, 1000);
        assert_eq!(o.start, Start::Random { density: 0.3, seed: 1 });
        assert_eq!((o.edges, o.checkpoint), (None, Checkpoint::Every(DEFAULT_CHECKPOINT)));
        let o = parse(&["--generations", "5", "--input", "g.rle", "--dead", "--checkpoint-every", "100"]).unwrap();
        assert_eq!((o.edges, o.checkpoint), (Some(Edges::Dead), Checkpoint::Generations(100)));
        let o = parse(&["--generations", "5", "--random", "0", "--checkpoint-every", "2.5s"]).unwrap();
        assert_eq!(o.checkpoint, Checkpoint::Every(Duration::from_millis(2500)));
    }

    #[test]
    fn mistakes_are_named() {
        let err = |a: &[&str]| parse(a).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err(&["--random", "0.3"]).contains("--generations N is required"));
        assert!(err(&["--generations", "5"]).contains("--input FILE"));
        assert!(err(&["--generations", "5", "--random", "1.5"]).contains("not a density"));
        assert!(err(&["--generations", "5", "--random", "0.1", "--input", "x"]).contains("not both"));
        assert!(err(&["--generations", "5", "--random", "0.1", "--width", "0"]).contains("--width: 0"));
        assert!(err(&["--generations", "5", "--random", "0.1", "--every", "3"]).contains("--frames DIR or --show"));
        assert!(err(&["--generations", "5", "--random", "0.1", "--checkpoint-every", "x"]).contains("off"));
        assert!(err(&["--generations", "5", "--random", "0.1", "--bogus"]).contains("--bogus"));
        assert!(err(&["--generations", "5", "--random", "0.1", "--exchange-every", "0"]).contains("at least 1"));
        let off = ["--generations", "5", "--random", "0.1", "--checkpoint", "c", "--checkpoint-every", "off"];
        assert!(err(&off).contains("cannot be off"));
        let mut o = parse(&["--generations", "5", "--random", "0.1"]).unwrap();
        assert!(take_resume(&mut o, true).unwrap_err().to_string().contains("--checkpoint FILE"));
    }
}
