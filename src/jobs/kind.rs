//! The registry's table: every job kind, its number on the wire, its name
//! and whether it takes an input stream. The code that runs each kind is in
//! its own file; `jobs::start` dispatches to it.

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobKind {
    Loopsum,
    Pi,
    Primes,
    Powers,
    Reduce,
    Echo,
    Spin,
    Life,
    Exec,
    JobList,
    LifeGhosts,
}

/// Whether a kind takes an input stream after its Submit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    None,
    Optional,
    Required,
}

/// One row of the registry: everything about a kind but its code.
struct KindInfo {
    kind: JobKind,
    /// Its number on the wire (docs/PROTOCOL.md); never reused.
    code: u8,
    name: &'static str,
    input: Input,
}

/// The one list of job kinds. A new kind is a row here, a variant above,
/// an arm in `jobs::start`, and its own file.
const KINDS: [KindInfo; 11] = [
    KindInfo { kind: JobKind::Loopsum, code: 1, name: "loopsum", input: Input::None },
    KindInfo { kind: JobKind::Pi, code: 2, name: "pi", input: Input::None },
    KindInfo { kind: JobKind::Primes, code: 3, name: "primes", input: Input::None },
    KindInfo { kind: JobKind::Powers, code: 4, name: "powers", input: Input::None },
    KindInfo { kind: JobKind::Reduce, code: 5, name: "reduce", input: Input::Required },
    KindInfo { kind: JobKind::Echo, code: 6, name: "echo", input: Input::Optional },
    KindInfo { kind: JobKind::Spin, code: 7, name: "spin", input: Input::None },
    KindInfo { kind: JobKind::Life, code: 8, name: "life", input: Input::Required },
    KindInfo { kind: JobKind::Exec, code: 9, name: "exec", input: Input::Optional },
    KindInfo { kind: JobKind::JobList, code: 10, name: "jobs", input: Input::None },
    KindInfo { kind: JobKind::LifeGhosts, code: 11, name: "life-ghosts", input: Input::Required },
];

impl JobKind {
    fn info(self) -> &'static KindInfo {
        // Every variant has a row: `every_kind_has_one_row` checks it.
        KINDS.iter().find(|k| k.kind == self).unwrap_or(&KINDS[0])
    }

    /// Every kind, in the order of their codes.
    pub const ALL: [JobKind; KINDS.len()] = {
        let mut all = [JobKind::Loopsum; KINDS.len()];
        let mut i = 0;
        while i < KINDS.len() {
            all[i] = KINDS[i].kind;
            i += 1;
        }
        all
    };

    pub fn to_u8(self) -> u8 {
        self.info().code
    }

    pub fn from_u8(v: u8) -> Option<JobKind> {
        KINDS.iter().find(|k| k.code == v).map(|k| k.kind)
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    pub fn input(self) -> Input {
        self.info().input
    }

    /// Whether a failure may be the host's rather than the job's (a job
    /// program missing a tool or a file on one Pi): then the head runs the
    /// piece elsewhere before giving up. Built-in kinds fail the same way
    /// everywhere, so their failures end the job at once.
    pub fn may_fail_by_host(self) -> bool {
        matches!(self, JobKind::Exec)
    }

    /// Whether the worker sends a piece's input straight back as its
    /// partials (echo): the head then paces the input to what comes back
    /// (`engine::return_window`).
    pub fn returns_input(self) -> bool {
        matches!(self, JobKind::Echo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_row() {
        let variants = [
            JobKind::Loopsum,
            JobKind::Pi,
            JobKind::Primes,
            JobKind::Powers,
            JobKind::Reduce,
            JobKind::Echo,
            JobKind::Spin,
            JobKind::Life,
            JobKind::Exec,
            JobKind::JobList,
            JobKind::LifeGhosts,
        ];
        for kind in variants {
            assert_eq!(KINDS.iter().filter(|k| k.kind == kind).count(), 1, "{kind:?}");
            assert_eq!(JobKind::from_u8(kind.to_u8()), Some(kind));
        }
        assert_eq!(KINDS.len(), variants.len());
        let mut codes: Vec<u8> = KINDS.iter().map(|k| k.code).collect();
        codes.dedup();
        assert_eq!(codes.len(), KINDS.len(), "codes are unique and in order");
    }
}
