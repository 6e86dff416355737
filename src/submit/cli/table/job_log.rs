//! The JOB LOG section of pisubmit's man page: the format of --joblog's
//! file, column by column (README.md "Job log and resume" says the same
//! with examples). The column names are `report::joblog::COLUMNS`, which a
//! test below holds them to.

use crate::flags::{Block, Section};

pub(super) const JOB_LOG: Section = Section {
    title: "JOB LOG",
    blocks: &[
        Block::Text(
            "--joblog FILE writes a tab-separated line for each piece as it finishes: one line per piece (the unit \
             sent to a worker: a range of numbers, a block of darts, one farm task), not per task. A background \
             thread writes the lines every few milliseconds on a CPU nothing else wants (on a head whose every \
             CPU is busy, pisubmit writes them itself once they have waited 0.1 s or reached 256 KiB, so a line \
             is in the file within about 0.2 s of its piece's end) and syncs the file at most once a second. \
             It starts with \"# pisubmit joblog 1\", then \"# job NAME\", \
             one \"# param NAME VALUE\" per parameter (and an input file's size and hash) and \"# cut N\" (the \
             number of hosts the pieces were cut for): the command a resumed run must match. A line of column \
             names follows, then the pieces:",
        ),
        Block::Item("Seq", "1, 2, ... in the order the lines were written; a resumed run goes on from the last."),
        Block::Item("Piece", "The piece's place in the whole job, from 0."),
        Block::Item("Host", "The worker (host:port) it finished on, or last failed on."),
        Block::Item("Starttime", "When it was sent there: seconds since 1970-01-01 UTC, to the millisecond."),
        Block::Item(
            "Runtime",
            "Seconds from sending it to its result, as the head saw it (transfer, queueing and compute).",
        ),
        Block::Item("Send", "Bytes of parameters and input sent to the worker (payloads, without frame headers)."),
        Block::Item("Receive", "Bytes of partial results and result received back (payloads)."),
        Block::Item("Outcome", "ok, or failed: it failed on --retries workers, and the job with it."),
        Block::Item("Why", "For failed: why it was given up (Runtime, Send and Receive are then 0)."),
        Block::Item("Retries", "Earlier attempts that failed, as \"host (why); ...\", or empty."),
        Block::Item("Label", "What part of the job it is: \"numbers 1..=2097151\", \"task on stdin line 3\"."),
        Block::Item(
            "Params",
            "xxh3-64 of the piece's kind and parameters, 16 hex digits: a resumed run checks that each piece it \
             skips is the one logged.",
        ),
        Block::Item(
            "Output",
            "For a job writing --output: START+LEN:HASH, the byte offset and length of its bytes in the file and \
             their xxh3-64. The line is written once they are in the file.",
        ),
        Block::Item("Result", "The worker's result in hex (laid out as in PROTOCOL.md): what a resumed run combines."),
        Block::Item("Check", "xxh3-64 of the line up to and including the tab before it, 16 hex digits."),
        Block::Text(
            "A line edited by hand or corrupted does not match its Check and is refused, with its line number. \
             Deleting whole lines is fine: those pieces run again (with --output, so do the pieces after them in \
             the file). A last line without its newline (the head died while writing it) is dropped and written \
             again.",
        ),
        Block::Text(
            "--resume runs only the pieces the log does not show as done and combines them with the logged \
             results: the answer and every --output file are the same bytes as a run that was never stopped. \
             Give the same command: a log of another job or of other parameters is refused, naming what differs. \
             The hosts may differ. An --output file is kept up to the last logged piece whose bytes it holds whole \
             and written on from there. A farm reading stdin needs the same input piped again: the lines already \
             answered are not run, and their answers are printed from the log. life resumes from its \
             --checkpoint file.",
        ),
        Block::Verbatim(&[
            "# pieces and compute seconds per host",
            "awk -F'\\t' '$1 ~ /^[0-9]+$/ && $8 == \"ok\" { n[$3]++; s[$3] += $5 }",
            "    END { for (h in n) print h, n[h], s[h] }' run.log",
            "# pieces logged as failed",
            "awk -F'\\t' '$1 ~ /^[0-9]+$/ && $8 == \"failed\" { print $2, $11, $9 }' run.log",
            "# for a spreadsheet: the columns' names, then the pieces",
            "grep -v '^#' run.log > run.tsv",
        ]),
    ],
    man_only: true,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::submit::report::joblog::COLUMNS;

    #[test]
    fn the_job_log_section_names_every_column_in_the_files_order() {
        let terms: Vec<&str> = JOB_LOG
            .blocks
            .iter()
            .filter_map(|b| match b {
                Block::Item(term, _) => Some(*term),
                _ => None,
            })
            .collect();
        assert_eq!(terms, COLUMNS);
    }
}
