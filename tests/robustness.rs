//! Robustness (issue 6): whatever it is given, caffe-mem ends with exit code 0, 1, 2 or 3 and a
//! message, never a panic, a hang or an exhausted machine. Every corpus and testdata file,
//! truncated at many points and with random bytes flipped, is run through the binary under a
//! time bound; binary files, absurd sizes and deep nesting get their own clear errors.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Longest any single run may take before it counts as a hang (debug builds are slower).
const RUN_LIMIT: Duration = Duration::from_secs(if cfg!(debug_assertions) { 60 } else { 20 });

/// Longest all the variants of one file may take together.
const FILE_LIMIT: Duration = Duration::from_secs(if cfg!(debug_assertions) { 300 } else { 60 });

/// What one run of the binary did.
struct Outcome {
    /// `None`: killed by a signal (an abort, a stack overflow) or by the time bound.
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl Outcome {
    /// Exit 0-3 with no sign of a panic: what every input must get.
    fn clean(&self) -> Result<(), String> {
        // The panic hook's words (a panic also exits 101).
        let panicked = self.stderr.contains("caffe-mem: internal error");
        match self.code {
            Some(0..=3) if !panicked => Ok(()),
            _ if self.elapsed >= RUN_LIMIT => Err(format!("no exit within {RUN_LIMIT:?}")),
            code => Err(format!(
                "exit {code:?}, stderr: {}",
                self.stderr.chars().take(2000).collect::<String>()
            )),
        }
    }
}

/// A fresh path under the test's scratch folder.
fn scratch(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("robustness");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!(
        "{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Runs caffe-mem with `args`, stdin from `stdin` (or nothing), in `cwd`, killed after
/// RUN_LIMIT. Output goes through files so that a chatty run can never block on a pipe.
fn run(args: &[&str], stdin: Option<&Path>, cwd: Option<&Path>) -> Outcome {
    run_keeping(args, stdin, cwd, true)
}

/// `run`, with stdout thrown away unless `keep_stdout`.
fn run_keeping(
    args: &[&str],
    stdin: Option<&Path>,
    cwd: Option<&Path>,
    keep_stdout: bool,
) -> Outcome {
    let out_path = scratch("stdout");
    let err_path = scratch("stderr");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_caffe-mem"));
    cmd.args(args)
        .stdout(if keep_stdout {
            Stdio::from(std::fs::File::create(&out_path).unwrap())
        } else {
            Stdio::null()
        })
        .stderr(std::fs::File::create(&err_path).unwrap())
        .stdin(match stdin {
            Some(p) => Stdio::from(std::fs::File::open(p).unwrap()),
            None => Stdio::null(),
        });
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    let start = Instant::now();
    let mut child = cmd.spawn().expect("the caffe-mem binary runs");
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if start.elapsed() >= RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let elapsed = start.elapsed();
    let read = |p: &Path| {
        let text = std::fs::read(p).unwrap_or_default();
        let _ = std::fs::remove_file(p);
        String::from_utf8_lossy(&text).into_owned()
    };
    Outcome {
        code,
        stdout: read(&out_path),
        stderr: read(&err_path),
        elapsed,
    }
}

/// Runs caffe-mem on `text` written to a file named `name`.
fn run_text(name: &str, text: &[u8], args: &[&str]) -> Outcome {
    let path = scratch(name);
    std::fs::write(&path, text).unwrap();
    let p = path.to_string_lossy().into_owned();
    let mut all: Vec<&str> = args.to_vec();
    all.push(&p);
    let out = run(&all, None, None);
    let _ = std::fs::remove_file(&path);
    out
}

/// A small deterministic generator (xorshift64*), so a failure reproduces from the file name.
struct Rng(u64);

impl Rng {
    fn new(seed: &str) -> Self {
        // FNV-1a of the seed; never zero.
        let h = seed.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        Rng(h | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The variants of one file: truncated at evenly spaced and random points, and with a few
/// random bytes flipped or replaced by the characters the grammar cares about.
fn variants(name: &str, bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    const CUTS: usize = 24;
    const RANDOM_CUTS: usize = 8;
    const MUTANTS: usize = 24;
    const STRUCTURAL: &[u8] = b"{}[]<>:;,'\"\\#\n -+.0123456789eExX\xff";
    let mut rng = Rng::new(name);
    let mut out = Vec::new();
    let len = bytes.len();
    let mut cuts: Vec<usize> = (1..=CUTS).map(|k| k * len / (CUTS + 1)).collect();
    cuts.extend((0..RANDOM_CUTS).map(|_| rng.below(len.max(1))));
    for cut in cuts {
        out.push((format!("cut at {cut}"), bytes[..cut].to_vec()));
    }
    for m in 0..MUTANTS {
        let mut v = bytes.to_vec();
        let mut what = Vec::new();
        for _ in 0..1 + rng.below(8) {
            if v.is_empty() {
                break;
            }
            let at = rng.below(v.len());
            let new = match rng.below(3) {
                0 => v[at] ^ (1 << rng.below(8)),
                1 => STRUCTURAL[rng.below(STRUCTURAL.len())],
                _ => rng.next() as u8,
            };
            what.push(format!("{at}:{new:#04x}"));
            v[at] = new;
        }
        out.push((format!("mutant {m} ({})", what.join(" ")), v));
    }
    out
}

/// Every prototxt of the corpus and of testdata, with the folder to run it in: a corpus file's
/// repository root (where Caffe would be started, so its solvers find their nets).
fn inputs() -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")];
    let shared = common::shared();
    if let Some(s) = &shared {
        stack.push(s.join("corpus"));
    }
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "prototxt") {
                let cwd = match &shared {
                    Some(s) if p.starts_with(s.join("corpus")) => {
                        let rel = p.strip_prefix(s.join("corpus")).unwrap();
                        s.join("corpus").join(rel.components().next().unwrap())
                    }
                    _ => p.parent().unwrap().to_path_buf(),
                };
                out.push((p, cwd));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn truncated_and_corrupted_files_exit_cleanly_within_a_time_bound() {
    let files = inputs();
    assert!(!files.is_empty());
    if common::shared().is_some() {
        assert!(files.len() > 140, "only {} files found", files.len());
    }
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    let failures: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut failures = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((path, cwd)) = files.get(i) else {
                            return failures;
                        };
                        failures.extend(check_file(path, cwd));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Runs every variant of one file through `caffe-mem -` (stdin); a failing variant is kept
/// under the scratch folder so it can be rerun by hand.
fn check_file(path: &Path, cwd: &Path) -> Vec<String> {
    let bytes = std::fs::read(path).unwrap();
    let name = path.to_string_lossy();
    let input = scratch("variant.prototxt");
    let start = Instant::now();
    let mut failures = Vec::new();
    for (what, v) in variants(&name, &bytes) {
        std::fs::write(&input, &v).unwrap();
        if let Err(e) = run_keeping(&["-"], Some(&input), Some(cwd), false).clean() {
            let kept = scratch("failing.prototxt");
            std::fs::write(&kept, &v).unwrap();
            failures.push(format!("{name}, {what} (kept as {}): {e}", kept.display()));
        }
    }
    let _ = std::fs::remove_file(&input);
    let elapsed = start.elapsed();
    if elapsed > FILE_LIMIT {
        failures.push(format!(
            "{name}: its variants took {elapsed:?}, over {FILE_LIMIT:?}"
        ));
    }
    failures
}

// ---- binary input ----

/// Bytes of a small caffemodel: a NetParameter with trained weights, in binary protobuf.
fn caffemodel() -> Vec<u8> {
    use caffe_mem::proto::{BlobProto, BlobShape, LayerParameter, NetParameter};
    use prost::Message as _;
    let mut fc = LayerParameter {
        name: Some("fc".into()),
        r#type: Some("InnerProduct".into()),
        ..Default::default()
    };
    fc.rare_mut().blobs = vec![BlobProto {
        shape: Some(BlobShape { dim: vec![2, 3] }),
        data: vec![0.0, 0.5, -1.0, 2.0, 0.25, 0.0],
        ..Default::default()
    }];
    let net = NetParameter {
        name: Some("tiny".into()),
        layer: vec![fc],
        ..Default::default()
    };
    net.encode_to_vec()
}

#[test]
fn binary_files_get_one_clear_error() {
    let utf16: Vec<u8> = "\u{feff}name: 'x'"
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("caffemodel", caffemodel()),
        (
            "png",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x02".to_vec(),
        ),
        (
            "jpeg",
            b"\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01".to_vec(),
        ),
        (
            "gzip",
            b"\x1f\x8b\x08\0\0\0\0\0\0\x03\xcb\x48\xcd\xc9\xc9\x07\0".to_vec(),
        ),
        (
            "elf",
            b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0".to_vec(),
        ),
        ("utf-16 text", utf16),
    ];
    for (what, bytes) in cases {
        let out = run_text("binary.prototxt", &bytes, &[]);
        assert_eq!(out.code, Some(3), "{what}: {}", out.stderr);
        assert!(
            out.stderr
                .contains("error: this looks like a binary file, not a text prototxt"),
            "{what}: {}",
            out.stderr
        );
        assert!(out.stderr.contains("not trained weights (.caffemodel)"));
        // One error, no cascade, and no control bytes from the file echoed to the terminal.
        assert_eq!(
            out.stderr.matches("error").count(),
            1,
            "{what}: {}",
            out.stderr
        );
        assert!(
            !out.stderr.bytes().any(|b| b < 0x20 && b != b'\n'),
            "{what}"
        );
        assert!(out.stdout.is_empty());
    }
    // The same through stdin.
    let model = scratch("model.caffemodel");
    std::fs::write(&model, caffemodel()).unwrap();
    let out = run(&["-"], Some(&model), None);
    assert_eq!(out.code, Some(3));
    assert!(out
        .stderr
        .starts_with("<stdin>:1:1: error: this looks like a binary file"));
}

#[test]
fn binary_bytes_after_the_first_8_kib_are_a_positioned_syntax_error() {
    let mut text = "# padding\n".repeat(1000).into_bytes();
    text.extend_from_slice(b"name: 'x'\n\0\0\x01\x02");
    let out = run_text("tail.prototxt", &text, &[]);
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(
        out.stderr
            .contains(":1002:1: error: unexpected character byte 0x00"),
        "{}",
        out.stderr
    );
}

/// Regression: a non-ASCII character was shown as its first byte whenever any later byte of
/// the file was not UTF-8, because the whole rest of the input was decoded to find it.
#[test]
fn an_unexpected_character_is_shown_as_itself() {
    let out = run_text("char.prototxt", b"name: 'a' \xc3\xa9 # \xff\n", &[]);
    assert_eq!(out.code, Some(3));
    assert!(
        out.stderr
            .contains(":1:11: error: unexpected character 'é'"),
        "{}",
        out.stderr
    );
}

/// A sparse file: gigabytes long, no disk used.
#[cfg(unix)]
fn sparse(name: &str, head: &[u8], len: u64) -> PathBuf {
    let path = scratch(name);
    std::fs::write(&path, head).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len)
        .unwrap();
    path
}

/// Runs caffe-mem on `path` with its address space limited to `kib`, so that reading a file
/// whole would fail.
#[cfg(unix)]
fn run_limited(path: &Path, kib: u64) -> Outcome {
    let out_path = scratch("stdout");
    let err_path = scratch("stderr");
    let start = Instant::now();
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {kib} && exec \"$0\" \"$1\""))
        .arg(env!("CARGO_BIN_EXE_caffe-mem"))
        .arg(path)
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .status()
        .unwrap();
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
    Outcome {
        code: status.code(),
        stdout: read(&out_path),
        stderr: read(&err_path),
        elapsed: start.elapsed(),
    }
}

/// Regression: a caffemodel given by mistake was read whole (hundreds of megabytes) before
/// its first bytes said it was binary, and the error message read it whole again to quote
/// its first "line". With 256 MiB of address space, reading the 3 GiB file whole would end in
/// the out-of-memory error (exit 2), not this one.
#[cfg(unix)]
#[test]
fn a_huge_binary_file_is_refused_from_its_first_bytes() {
    let path = sparse("huge.caffemodel", b"\x0a\x07AlexNet", 3 << 30);
    let out = run_limited(&path, 256 * 1024);
    let _ = std::fs::remove_file(&path);
    assert_eq!(out.code, Some(3), "{}", out.stderr);
    assert!(out.stderr.contains("this looks like a binary file"));
    assert!(!out.stderr.contains("AlexNet"), "{}", out.stderr);
}

/// A text file too large for the memory caffe-mem may use is a clean I/O error, not an abort.
#[cfg(unix)]
#[test]
fn a_text_file_larger_than_memory_is_a_clean_error() {
    let path = sparse("huge.prototxt", &b"# text\n".repeat(2000), 3 << 30);
    let out = run_limited(&path, 256 * 1024);
    let _ = std::fs::remove_file(&path);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("bytes do not fit in memory"),
        "{}",
        out.stderr
    );
}

/// An endless text on stdin ends in a clean I/O error once memory runs out, not an abort.
#[cfg(unix)]
#[test]
fn an_endless_stdin_is_a_clean_error() {
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 262144 && yes 'layer {}' | exec \"$0\" -")
        .arg(env!("CARGO_BIN_EXE_caffe-mem"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("caffe-mem: error: cannot read <stdin>: out of memory"),
        "{stderr}"
    );
}

/// Regression: quoting the line of an error read the whole file a second time. The quote now
/// streams to its line: a large file is read once, and its error quotes the right line.
#[test]
fn an_error_deep_in_a_large_file_quotes_its_line() {
    let mut text = "# filler line\r\n".repeat(400_000).into_bytes();
    text.extend_from_slice(b"layer { name: 'a' @ }\n");
    let out = run_text("large.prototxt", &text, &[]);
    assert_eq!(out.code, Some(3));
    assert!(
        out.stderr
            .contains(":400001:19: error: unexpected character '@'\n       |\n400001 | layer { name: 'a' @ }\n       |                   ^\n"),
        "{}",
        out.stderr
    );
    assert!(out.elapsed < RUN_LIMIT);
}

// ---- every error path: exit code, place and message ----

/// An Input layer for the cases below to build on.
const INPUT: &str =
    "layer { name: 'in' type: 'Input' top: 'x' input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } } }\n";

/// (file text, flags, exit code, `line:col` of the error or "" when it has none, the message).
const ERRORS: &[(&str, &[&str], i32, &str, &str)] = &[
    // Syntax (3), each error of the reader.
    ("layer { 5 }", &[], 3, "1:9", "expected a field name, found '5'"),
    ("layer: 5", &[], 3, "1:8", "expected '{' to open message field 'layer', found '5'"),
    ("layer: [5]", &[], 3, "1:9", "expected '{' to open message field 'layer'"),
    ("layer {\n name: 'a'\n", &[], 3, "3:1", "unexpected end of file: '{' is not closed"),
    ("layer < name: 'a' }", &[], 3, "1:19", "expected a field name, found '}'"),
    ("layer { name 'a' }", &[], 3, "1:14", "expected ':' after field name 'name'"),
    ("name: ['a']", &[], 3, "1:7", "field 'name' is not repeated: a list is not allowed"),
    ("name: 'a' name: 'b'", &[], 3, "1:11", "non-repeated field 'name' is specified more than once"),
    ("input_dim: [1 2]", &[], 3, "1:15", "expected ',' or ']' in a list, found '2'"),
    ("name: 5", &[], 3, "1:7", "expected a string for field 'name', found '5'"),
    ("name: '\\xff'", &[], 3, "1:7", "string is not valid UTF-8"),
    ("name: '\\xZZ'", &[], 3, "1:7", "'\\x' is not followed by hex digits"),
    ("name: 'a\\qb'", &[], 3, "1:7", "unknown escape '\\q' in string"),
    ("name: 'abc\nlayer {}", &[], 3, "1:7", "string literal is not closed"),
    ("layer { name: 'a' } @", &[], 3, "1:21", "unexpected character '@'"),
    ("layer { pooling_param { pool: 99999999999 } }", &[], 3, "1:31", "enum number out of range for 'pool'"),
    ("layer { pooling_param { pool: 7 } }", &[], 3, "1:31", "7 is not a value of enum caffe.PoolingParameter.PoolMethod (field 'pool')"),
    ("layer { pooling_param { pool: 'MAX' } }", &[], 3, "1:31", "expected an enum value for field 'pool', found ''MAX''"),
    ("layer { convolution_param { num_output: '3' } }", &[], 3, "1:41", "expected a value for field 'num_output', found ''3''"),
    ("layer { convolution_param { num_output: 12abc } }", &[], 3, "1:41", "'12abc' is not an integer"),
    ("layer { convolution_param { num_output: 99999999999999999999999 } }", &[], 3, "1:41", "integer '99999999999999999999999' is out of range"),
    ("layer { convolution_param { num_output: 4294967296 } }", &[], 3, "1:41", "integer '4294967296' is out of range for this field"),
    ("layer { convolution_param { num_output: -1 } }", &[], 3, "1:41", "'-1' is negative, but the field is unsigned"),
    ("layer { convolution_param { axis: 2147483648 } }", &[], 3, "1:35", "integer '2147483648' is out of range for this field"),
    ("layer { dropout_param { dropout_ratio: 0.5.5 } }", &[], 3, "1:40", "'0.5.5' is not a number"),
    ("layer { convolution_param { bias_term: yes } }", &[], 3, "1:40", "expected true or false for field 'bias_term', found 'yes'"),
    ("bogus }", &[], 3, "1:1", "expected ':' or '{' after field name, found '}'"),
    ("bogus: }", &[], 3, "1:8", "expected a value, found '}'"),
    ("bogus { a: 1", &[], 3, "1:13", "unexpected end of file in a block"),
    ("bogus { ] }", &[], 3, "1:9", "unbalanced ']'"),
    ("bogus: 1", &["--strict"], 3, "1:1", "unknown field 'bogus' in caffe.NetParameter"),
    ("layer { pooling_param { pool: FANCY } }", &["--strict"], 3, "1:31", "unknown value 'FANCY' of enum caffe.PoolingParameter.PoolMethod for field 'pool'"),
    // The net is invalid (1): what Caffe refuses, and caffe-mem's own limits.
    ("layer { name: 'p' type: 'Fancy' top: 'q' }", &[], 1, "1:1", "the shape of blob 'q' cannot be known: layer 'p' has unknown type 'Fancy' and no bottoms"),
    ("layer { name: 'a' type: 'Fancy' bottom: 'x' top: 'y' }", &["--strict"], 1, "2:1", "unknown layer type 'Fancy' (layer 'a')"),
    ("layer { name: 'a' type: 'ReLU' bottom: 'nope' top: 'y' }", &[], 1, "2:1", "Unknown bottom blob 'nope' (layer 'a', bottom index 0): no earlier layer produces it"),
    ("layer { name: 'a' type: 'ReLU' bottom: 'x' top: 'y' }\nlayer { name: 'b' type: 'ReLU' bottom: 'x' top: 'y' }", &[], 1, "3:1", "Top blob 'y' produced by multiple sources."),
    ("layer { name: 'a' type: 'ReLU' bottom: 'x' top: 'y' loss_weight: 1 loss_weight: 2 }", &[], 1, "2:1", "layer 'a': loss_weight must be unspecified or given once per top (1 tops, 2 weights)"),
    ("layer { name: 'a' type: 'ReLU' bottom: 'x' top: 'y' param { lr_mult: 1 } }", &[], 1, "2:1", "Too many params specified for layer a: 1 param specs, 0 parameter blobs"),
    ("layer { name: 'a' type: 'BatchNorm' bottom: 'x' top: 'y' param { lr_mult: 1 } }", &[], 1, "2:1", "layer 'a': Cannot configure batch normalization statistics as layer parameters (lr_mult must be 0)"),
    ("layer { name: 'a' type: 'Convolution' bottom: 'x' top: 'y' param { name: 'w' } convolution_param { num_output: 2 kernel_size: 1 bias_term: false } }\nlayer { name: 'b' type: 'Convolution' bottom: 'x' top: 'z' param { name: 'w' } convolution_param { num_output: 4 kernel_size: 1 bias_term: false } }", &[], 1, "3:1", "Cannot share param 'w' owned by layer 'a' with layer 'b'; shape mismatch: owner has shape [2, 3, 1, 1], this layer expects [4, 3, 1, 1]"),
    ("layer { name: 'a' type: 'ReLU' bottom: 'x' top: 'y' propagate_down: true propagate_down: false }", &[], 1, "2:1", "layer 'a': propagate_down must be given either 0 or 1 times (once per bottom)"),
    ("layer { name: 'a' type: 'ReLU' bottom: 'x' top: 'y' include { phase: TEST } exclude { phase: TRAIN } }", &[], 1, "2:1", "layer 'a' has both include and exclude rules; Caffe accepts one kind only"),
    ("layer { name: 'a' type: 'Input' top: 'x' input_param { shape { dim: 65536 dim: 65536 } } }", &[], 1, "1:1", "layer 'a' (Input): blob of shape [65536, 65536] has 4294967296 elements, over Caffe's limit of INT_MAX"),
    // Usage (2).
    ("item { name: 'cat' label: 1 }", &[], 2, "", "is a label map (caffe.LabelMap, SSD's class names), not a net"),
    ("net: 'nowhere.prototxt' base_lr: 0.1", &[], 2, "", "the solver's net 'nowhere.prototxt' was not found"),
    ("name: 'x'", &["--batch", "0"], 2, "", "invalid value '0' for '--batch <BATCH>'"),
    ("name: 'x'", &["--input", "x=1,a"], 2, "", "'a' in 'x=1,a' is not a dimension"),
    ("name: 'x'", &["--input", "=1"], 2, "", "'=1' names no blob"),
    ("name: 'x'", &["--phase", "val"], 2, "", "invalid value 'val' for '--phase <PHASE>'"),
    ("name: 'x'", &["--nope"], 2, "", "unexpected argument '--nope'"),
    ("name: 'x'", &["--engine", "cudnn", "--device", "cpu"], 2, "", "--engine cudnn needs --device gpu: cuDNN exists only on the GPU"),
    ("name: 'x'", &["--group-by", "prefix", "--format", "json"], 2, "", "--group-by applies to the table, markdown and csv formats"),
    ("name: 'x'", &["--gpu-mem", "12XB"], 2, "", "unknown unit 'XB'"),
    ("name: 'x'", &["--iter-size", "0"], 2, "", "invalid value '0' for '--iter-size <N>'"),
    ("name: 'x'", &["diff", "--group-by", "prefix", "@", "@"], 2, "", "--group-by does not apply to diff"),
    ("name: 'x'", &["diff", "@"], 2, "", "the following required arguments were not provided"),
];

#[test]
fn every_error_has_its_exit_code_place_and_message() {
    let mut failures = Vec::new();
    for &(text, flags, code, place, message) in ERRORS {
        // Cases that need a net to build on start after the Input layer, on line 2.
        let text = if text.contains("bottom:") {
            format!("{INPUT}{text}")
        } else {
            text.to_string()
        };
        let path = scratch("case.prototxt");
        std::fs::write(&path, &text).unwrap();
        let p = path.to_string_lossy().into_owned();
        // "@" stands for the case's file; without one, the file comes last.
        let mut args: Vec<&str> = flags
            .iter()
            .map(|&f| if f == "@" { &p } else { f })
            .collect();
        if !flags.contains(&"@") {
            args.push(&p);
        }
        let out = run(&args, None, None);
        let _ = std::fs::remove_file(&path);
        let first = out.stderr.lines().next().unwrap_or("");
        let expected = match place {
            "" => None,
            _ => Some(format!("{p}:{place}: error: {message}")),
        };
        let ok = out.code == Some(code)
            && out.stdout.is_empty()
            && match &expected {
                Some(e) => first == e,
                None => first.contains(message) && first.contains("error"),
            };
        if !ok {
            failures.push(format!(
                "{text:?} {flags:?}: exit {:?}, expected {code} and {:?}; stderr:\n{}",
                out.code,
                expected.as_deref().unwrap_or(message),
                out.stderr
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn io_errors_exit_2_naming_the_path() {
    let missing = scratch("missing.prototxt");
    let dir = scratch("a-folder");
    std::fs::create_dir_all(&dir).unwrap();
    for (path, reason) in [
        (&missing, "No such file or directory"),
        (&dir, "Is a directory"),
    ] {
        let p = path.to_string_lossy();
        let out = run(&[&p], None, None);
        assert_eq!(out.code, Some(2), "{}", out.stderr);
        assert!(
            out.stderr
                .starts_with(&format!("caffe-mem: error: cannot read {p}: {reason}")),
            "{}",
            out.stderr
        );
    }
    let out = run(&[], None, None);
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("required arguments were not provided"));
}

// ---- limits ----

fn load(text: &[u8]) -> caffe_mem::Result<caffe_mem::load::NetFile> {
    caffe_mem::load::load_bytes(
        "limits.prototxt".into(),
        text,
        caffe_mem::load::ReadOptions::default(),
        &mut Vec::new(),
    )
}

fn analyze(text: &[u8]) -> caffe_mem::Result<caffe_mem::pipeline::Analyzed> {
    let opts = caffe_mem::pipeline::Options::default();
    caffe_mem::pipeline::analyze_bytes(&opts, "limits.prototxt".into(), text)
}

#[test]
fn nesting_is_limited_to_64_levels_in_every_kind_of_block() {
    use caffe_mem::textformat::MAX_DEPTH;
    for (open, close) in [("x {", "}"), ("x <", ">"), ("x: {", "}")] {
        let nest = |n: usize| format!("{}{}", open.repeat(n), close.repeat(n));
        assert!(load(nest(MAX_DEPTH).as_bytes()).is_ok(), "{open}");
        let e = load(nest(MAX_DEPTH + 1).as_bytes()).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert!(e.to_string().contains("nested more than 64 deep"), "{e}");
    }
    // Lists inside an unknown field's block count too; a million levels stay within the stack.
    let e = load(format!("x {{ y: {} }}", "[".repeat(1_000_000)).as_bytes()).unwrap_err();
    assert_eq!(e.exit_code(), 3);
    assert!(e.to_string().contains("nested more than 64 deep"), "{e}");
}

#[test]
fn strings_are_limited_to_1_mib() {
    use caffe_mem::textformat::MAX_STRING;
    let name = |n: usize| format!("name: '{}'", "s".repeat(n));
    assert_eq!(
        load(name(MAX_STRING).as_bytes()).unwrap().net.name().len(),
        MAX_STRING
    );
    let e = load(name(MAX_STRING + 1).as_bytes()).unwrap_err();
    assert_eq!(e.exit_code(), 3);
    assert_eq!(
        e.to_string(),
        "string of 1048577 bytes for field 'name' is over the limit of 1048576 bytes"
    );
    // Adjacent literals make one string, and the limit is on the whole.
    let half = "h".repeat(MAX_STRING / 2 + 1);
    let e = load(format!("name: '{half}' '{half}'").as_bytes()).unwrap_err();
    assert!(e.to_string().contains("over the limit"), "{e}");
}

/// Regression: a long layer name was copied into every Split top Caffe inserts after the
/// layer, once per consumer (a 1.3 MB file took 11 GB). Names are limited to 1024 bytes.
#[test]
fn layer_names_are_limited_to_1024_bytes() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/regressions/long_layer_name.prototxt");
    let text = std::fs::read_to_string(&path).unwrap();
    let e = analyze(text.as_bytes()).err().expect("refused");
    assert_eq!(e.exit_code(), 1);
    assert_eq!(
        e.to_string(),
        format!(
            "layer '{}...' has a name of 1025 bytes, over caffe-mem's limit of 1024",
            "n".repeat(40)
        )
    );
    assert_eq!(e.location().unwrap().1.unwrap().line, 5);
    let shorter = text.replace(&"n".repeat(1025), &"n".repeat(1024));
    let a = analyze(shorter.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        a.analysis.layers.len(),
        5,
        "the input, its Split and three ReLUs"
    );
}

/// Regression: totals were clamped at 2^64 - 1 without a word when the layers' MACs or FLOPs
/// summed past 64 bits; each layer alone fits, the net is refused where the sum overflows.
#[test]
fn totals_that_overflow_64_bits_are_refused() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/regressions/total_flops_overflow.prototxt");
    let out = run(&[&path.to_string_lossy()], None, None);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "total_flops_overflow.prototxt:8:1: error: the net's FLOPs overflow 64 bits at layer 'c3': more than caffe-mem can count"
        ),
        "{}",
        out.stderr
    );
    // Two of the five layers fit: every figure is exact.
    let text = std::fs::read_to_string(&path).unwrap();
    let two: String = text.lines().take(7).map(|l| format!("{l}\n")).collect();
    let r = caffe_mem::pipeline::report(analyze(two.as_bytes()).unwrap());
    let one = r.layers.iter().find(|l| l.name == "c1").unwrap().macs;
    assert_eq!(one, 2_147_483_647 * 46_340 * 46_340);
    assert_eq!(r.totals.macs, 2 * one);
}

#[test]
fn shapes_and_counts_beyond_caffes_int_are_refused() {
    let input = |dims: &str| {
        format!(
            "layer {{ name: 'in' type: 'Input' top: 'x' input_param {{ shape {{ {dims} }} }} }}"
        )
    };
    for (dims, message) in [
        ("dim: 9223372036854775807", "does not fit Caffe's int"),
        ("dim: -1", "negative dimension -1 in shape [-1]"),
        ("dim: 2147483647 dim: 2", "over Caffe's limit of INT_MAX"),
        (
            "dim: 65536 dim: 65536 dim: 65536 dim: 65536 dim: 65536",
            "[65536, 65536, 65536, 65536, 65536] overflows",
        ),
    ] {
        let e = analyze(input(dims).as_bytes()).err().expect("refused");
        assert_eq!(e.exit_code(), 1, "{dims}: {e}");
        assert!(e.to_string().contains(message), "{dims}: {e}");
    }
    // --batch too large for the blob.
    let opts = caffe_mem::pipeline::Options {
        batch: Some(i64::from(i32::MAX)),
        ..Default::default()
    };
    let text = input("dim: 1 dim: 3 dim: 224 dim: 224");
    let e = caffe_mem::pipeline::analyze_bytes(&opts, "b.prototxt".into(), text.as_bytes())
        .err()
        .expect("refused");
    assert_eq!(e.exit_code(), 1, "{e}");
    assert!(e.to_string().contains("INT_MAX"), "{e}");
}

/// Regression: the Caffe memory model looped over a data layer's `prefetch` count, a number
/// from the file: four layers with prefetch 4000000000 took most of a minute.
#[test]
fn a_huge_prefetch_count_costs_no_time() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/regressions/prefetch_loop.prototxt");
    let mut args = Vec::new();
    for i in 1..=4 {
        args.push("--input".to_string());
        args.push(format!("a{i}=2,3,4,4"));
    }
    args.push(path.to_string_lossy().into_owned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args, None, None);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let r: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    // Four layers of 4e9 batches of 2 x (3x4x4 data + 1 label) fp32 values.
    assert_eq!(
        r["memory"]["caffe"]["parts"]["prefetch"]["total"],
        4 * 4_000_000_000u64 * 2 * 49 * 4
    );
}

/// A memory figure past 64 bits (a Data layer prefetching 4e9 batches of 2^31 elements) is
/// refused with exit 1. On a small net the figures are computed before anything is written:
/// stdout stays empty. From 2048 layers on they are computed while the report's layers are
/// written (README, exit codes): the report is then cut short before its totals.
#[test]
fn a_memory_figure_past_64_bits_is_refused_before_or_after_the_layers() {
    let data = "layer { name: 'd' type: 'Data' top: 'a' \
                data_param { batch_size: 1 prefetch: 4000000000 } }\n";
    let message = "a memory figure of this net overflows 64 bits";
    for relus in [1, caffe_mem::json::THREADED_MIN] {
        let mut text = data.to_string();
        for i in 0..relus {
            text.push_str(&format!(
                "layer {{ name: 'r{i}' type: 'ReLU' bottom: 'a' top: 'a' }}\n"
            ));
        }
        let path = scratch("overflow.prototxt");
        std::fs::write(&path, text).unwrap();
        let out = run(
            &[&path.to_string_lossy(), "--input", "a=2147483647"],
            None,
            None,
        );
        assert_eq!(out.code, Some(1), "{}", out.stderr);
        assert!(out.stderr.contains(message), "{}", out.stderr);
        if relus == 1 {
            assert_eq!(out.stdout, "");
        } else {
            assert!(out.stdout.starts_with("{\"schema_version\":1,"));
            assert!(out.stdout.contains(&format!("\"name\":\"r{}\"", relus - 1)));
            assert!(
                !out.stdout.contains("\"memory\":"),
                "cut short before its figures"
            );
        }
    }
}
