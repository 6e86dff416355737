//! `piworker._piworker`: pisubmit's engine for the Python package.
//!
//! One entry point, `run`, takes a pisubmit command line and runs it
//! exactly as pisubmit would (the same parser, scheduler, merges, retries,
//! heartbeats and key handling), with the GIL released, and returns what
//! pisubmit would print: JSON when `--json` is given. Task lines and
//! results can come from and go to file descriptors the Python side holds
//! (pipes fed and read by its threads) instead of stdin and stdout.
//! Everything a person sees of the package is in python/piworker/.

use piworker::jobs::reduce::Op;
use piworker::submit::cli::{parse_args, Parsed};
use piworker::submit::cluster::engine::{stop_on_sigterm, with_cancel, Cancel};
use piworker::submit::commands;
use piworker::submit::commands::job::run_planned;
use piworker::submit::plans::reduce::plan_input;
use piworker::submit::plans::values::{npy, Dtype, ReduceInput, SharedBytes};
use piworker::submit::report::stdio::{with_streams, Streams};
use piworker::submit::SubmitError;
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyKeyboardInterrupt, PyOSError};
use pyo3::prelude::*;
use std::ffi::OsString;
use std::fs::File;
use std::io::BufReader;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::sync::{Arc, Mutex};

create_exception!(
    _piworker,
    CallFailed,
    PyException,
    "A pisubmit call that failed: args are (kind, message); piworker/__init__.py turns it into a typed exception."
);

/// A way to stop a call from another thread: the Python side cancels a
/// call whose results nobody reads any more (a generator closed early).
#[pyclass(name = "Cancel", frozen)]
struct PyCancel(Arc<Cancel>);

#[pymethods]
impl PyCancel {
    #[new]
    fn new() -> PyCancel {
        PyCancel(Cancel::new())
    }

    /// Ends the call: the workers are told to cancel its pieces, and the
    /// call raises CallFailed("cancelled", ...).
    fn cancel(&self) {
        self.0.cancel();
    }

    #[getter]
    fn cancelled(&self) -> bool {
        self.0.is_cancelled()
    }
}

/// Runs the pisubmit command line `argv` (without the program's name).
/// `env_hosts` stands for PISUBMIT_HOSTS. Task lines are read from
/// `input_fd` and results written to `output_fd` when given (the
/// descriptors are duplicated: the caller still owns and closes its own).
/// `cancel` stops the call from another thread.
#[pyfunction]
#[pyo3(signature = (argv, env_hosts=None, input_fd=None, output_fd=None, cancel=None))]
fn run(
    py: Python<'_>,
    argv: Vec<String>,
    env_hosts: Option<String>,
    input_fd: Option<i32>,
    output_fd: Option<i32>,
    cancel: Option<&PyCancel>,
) -> PyResult<String> {
    let (global, command) = match parse_args(argv.into_iter().map(OsString::from), env_hosts) {
        Ok(Parsed::Print(text)) => return Ok(text),
        Ok(Parsed::Run(global, command)) => (global, command),
        Err(e) => return Err(failed(py, e)),
    };
    let input = input_fd.map(duplicate).transpose()?;
    let output = output_fd.map(duplicate).transpose()?;
    detached(py, cancel, move || {
        let streams = Streams {
            input: input.map(|fd| Box::new(BufReader::new(File::from(fd))) as Box<dyn std::io::BufRead + Send>),
            output: output.map(|fd| Arc::new(Mutex::new(File::from(fd))) as Arc<Mutex<dyn std::io::Write + Send>>),
        };
        with_streams(streams, || commands::run(&global, &command))
    })
}

/// Runs `call` with the GIL released and `cancel` (or a fresh token) able
/// to stop its engines; a cancelled call fails as "cancelled", anything
/// else as `failed` says.
fn detached(
    py: Python<'_>,
    cancel: Option<&PyCancel>,
    call: impl FnOnce() -> Result<String, SubmitError> + Send,
) -> PyResult<String> {
    let token = cancel.map_or_else(Cancel::new, |c| Arc::clone(&c.0));
    let caller = Arc::clone(&token);
    py.detach(move || with_cancel(caller, call)).map_err(|e| match e {
        SubmitError::Interrupted if token.is_cancelled() => CallFailed::new_err(("cancelled", e.to_string())),
        e => failed(py, e),
    })
}

/// A caller's bytes, read where they are: the Python side keeps the
/// object that exports them (a memoryview of a NumPy array, an
/// array.array, bytes) alive and unchanged until `reduce_memory` returns,
/// and nothing here outlives the call.
struct Lent {
    address: usize,
    length: usize,
}

impl AsRef<[u8]> for Lent {
    fn as_ref(&self) -> &[u8] {
        if self.length == 0 {
            return &[];
        }
        // SAFETY: `reduce_memory`'s caller guarantees `address` points at
        // `length` readable bytes for as long as the call runs, and every
        // `Lent` is dropped before the call returns (the engine and its
        // pieces live inside `commands::job::run_planned`).
        unsafe { std::slice::from_raw_parts(self.address as *const u8, self.length) }
    }
}

/// Folds `length` bytes at `address` with reduce's `op`, holding values of
/// `dtype` (reduce's --dtype names: f64, i64, f32, i32, their `be` forms),
/// on the workers of the global options in `globals`, without a copy or a
/// file. Returns pisubmit's report (JSON when `globals` has --json).
///
/// The caller (piworker/_cluster.py) must keep the memory the address
/// points at alive and unchanged until this returns.
#[pyfunction]
#[pyo3(signature = (globals, op, dtype, address, length, env_hosts=None, cancel=None))]
#[allow(clippy::too_many_arguments)]
fn reduce_memory(
    py: Python<'_>,
    globals: Vec<String>,
    op: &str,
    dtype: &str,
    address: usize,
    length: usize,
    env_hosts: Option<String>,
    cancel: Option<&PyCancel>,
) -> PyResult<String> {
    let usage = |m: String| failed(py, SubmitError::Usage(m));
    let op = Op::parse(op).ok_or_else(|| usage(format!("reduce: unknown op {op:?} (sum, min, max or count)")))?;
    // reduce's --dtype name (f64, i32be), or NumPy's own name for an
    // array's values (`a.dtype.str`: "<f8", ">i2", "|u1"), read as a .npy
    // header's: any order and the narrow integers, with no copy to convert.
    let dtype = match dtype.chars().next() {
        Some('<' | '>' | '|' | '=') => {
            Dtype::Binary(npy::dtype_of(dtype).map_err(|why| usage(format!("reduce: the array: {why}")))?)
        }
        _ => Dtype::parse(dtype).ok_or_else(|| usage(format!("reduce: {dtype:?} is not a dtype reduce reads")))?,
    };
    if address == 0 && length > 0 {
        return Err(usage("reduce: the buffer's address is null".into()));
    }
    // The global options are parsed as pisubmit parses them, on a job
    // that takes no others.
    let argv = std::iter::once("ping".to_string()).chain(globals).map(OsString::from);
    let global = match parse_args(argv, env_hosts) {
        Ok(Parsed::Run(global, _)) => global,
        Ok(Parsed::Print(text)) => return Ok(text),
        Err(e) => return Err(failed(py, e)),
    };
    let lent: SharedBytes = Arc::new(Lent { address, length });
    let input = ReduceInput::from_memory(lent, dtype, "the array").map_err(usage)?;
    // Pieces and plan are made where they run: they stay on one thread.
    detached(py, cancel, move || {
        let (pieces, plan) = plan_input(op, input)?;
        run_planned(&global, "reduce", pieces, plan)
    })
}

/// Our own copy of a descriptor the caller lends.
fn duplicate(fd: i32) -> PyResult<OwnedFd> {
    if fd < 0 {
        return Err(PyOSError::new_err(format!("file descriptor {fd} is not valid")));
    }
    // SAFETY: the caller keeps `fd` open for the length of this call; we
    // only duplicate it here and own the copy.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    borrowed.try_clone_to_owned().map_err(|e| PyOSError::new_err(format!("cannot duplicate file descriptor {fd}: {e}")))
}

/// The Python exception for pisubmit's error. Ctrl-C becomes Python's own
/// KeyboardInterrupt (the workers have been told to cancel by then).
fn failed(py: Python<'_>, e: SubmitError) -> PyErr {
    let kind = match &e {
        SubmitError::Interrupted => {
            // Python's handler saw the SIGINT too: raise what it would.
            if let Err(pending) = py.check_signals() {
                return pending;
            }
            return PyKeyboardInterrupt::new_err(e.to_string());
        }
        SubmitError::Usage(_) => "usage",
        SubmitError::Connect(_) => "connect",
        SubmitError::Job(_) => "job",
        SubmitError::Findings { .. } => "findings",
    };
    CallFailed::new_err((kind, e.to_string()))
}

#[pymodule]
fn _piworker(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // A Python program keeps SIGTERM's default; runs stop on Ctrl-C only.
    stop_on_sigterm(false);
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(reduce_memory, m)?)?;
    m.add_class::<PyCancel>()?;
    m.add("CallFailed", m.py().get_type::<CallFailed>())?;
    m.add("VERSION", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
