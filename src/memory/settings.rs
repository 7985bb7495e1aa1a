//! The memory settings (SPEC §3): precision, optimizer, iter_size, device, engine, and the
//! card to fit. Flags override what a solver file says; the resolved values go into the
//! report's `settings`.

use serde::Serialize;

use crate::proto::{solver_parameter::SolverType, SolverParameter};

/// `--dtype`: the element type of weights and activations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Dtype {
    #[default]
    Fp32,
    Fp16,
    Bf16,
    Fp64,
    /// fp32 master weights and optimizer state, fp16 activations and gradients.
    Mixed,
}

impl Dtype {
    /// Bytes per element of activations and their gradients.
    pub fn activation_bytes(self) -> u64 {
        match self {
            Dtype::Fp32 => 4,
            Dtype::Fp16 | Dtype::Bf16 | Dtype::Mixed => 2,
            Dtype::Fp64 => 8,
        }
    }

    /// Bytes per element of weights (the master copy under `mixed`) and optimizer state.
    pub fn weight_bytes(self) -> u64 {
        match self {
            Dtype::Fp32 | Dtype::Mixed => 4,
            Dtype::Fp16 | Dtype::Bf16 => 2,
            Dtype::Fp64 => 8,
        }
    }

    /// Bytes per element of weight gradients: they are computed at activation precision.
    pub fn gradient_bytes(self) -> u64 {
        self.activation_bytes()
    }

    /// The flag's spelling.
    pub fn name(self) -> &'static str {
        match self {
            Dtype::Fp32 => "fp32",
            Dtype::Fp16 => "fp16",
            Dtype::Bf16 => "bf16",
            Dtype::Fp64 => "fp64",
            Dtype::Mixed => "mixed",
        }
    }

    /// BVLC Caffe is built for `float` or `double` only (blob.hpp's `Dtype`).
    pub fn caffe_supported(self) -> bool {
        matches!(self, Dtype::Fp32 | Dtype::Fp64)
    }
}

/// `--optimizer`: the update rule, which sizes the optimizer state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Optimizer {
    /// Plain SGD (Caffe's `SGD` with momentum 0).
    Sgd,
    /// SGD with momentum (Caffe's `SGD` with momentum > 0).
    Momentum,
    Nesterov,
    #[value(name = "adagrad")]
    AdaGrad,
    #[value(name = "rmsprop")]
    RmsProp,
    #[value(name = "adadelta")]
    AdaDelta,
    Adam,
    /// Not in BVLC Caffe: the caffe model counts it as Adam.
    #[value(name = "adamw")]
    AdamW,
}

impl Optimizer {
    /// Copies of the learning parameters the ideal optimizer keeps (SPEC §3).
    pub fn ideal_state_copies(self) -> u64 {
        match self {
            Optimizer::Sgd => 0,
            Optimizer::Momentum | Optimizer::Nesterov | Optimizer::AdaGrad | Optimizer::RmsProp => {
                1
            }
            Optimizer::AdaDelta | Optimizer::Adam | Optimizer::AdamW => 2,
        }
    }

    /// Caffe's solver class for this optimizer.
    pub fn caffe_solver(self) -> CaffeSolver {
        match self {
            Optimizer::Sgd | Optimizer::Momentum => CaffeSolver::Sgd,
            Optimizer::Nesterov => CaffeSolver::Nesterov,
            Optimizer::AdaGrad => CaffeSolver::AdaGrad,
            Optimizer::RmsProp => CaffeSolver::RmsProp,
            Optimizer::AdaDelta => CaffeSolver::AdaDelta,
            Optimizer::Adam | Optimizer::AdamW => CaffeSolver::Adam,
        }
    }

    /// The optimizer a solver file describes: its `type` (or legacy `solver_type`), and for
    /// SGD its momentum. `None` for a type Caffe does not register.
    pub fn of_solver(s: &SolverParameter) -> Option<Optimizer> {
        // upgrade_proto.cpp UpgradeSolverType: `solver_type` is used only without `type`.
        let name = match (&s.r#type, s.solver_type) {
            (Some(t), _) => t.to_ascii_lowercase(),
            (None, Some(_)) => match s.solver_type() {
                SolverType::Sgd => "sgd".into(),
                SolverType::Nesterov => "nesterov".into(),
                SolverType::Adagrad => "adagrad".into(),
                SolverType::Rmsprop => "rmsprop".into(),
                SolverType::Adadelta => "adadelta".into(),
                SolverType::Adam => "adam".into(),
            },
            (None, None) => "sgd".into(),
        };
        Some(match name.as_str() {
            "sgd" if s.momentum() == 0.0 => Optimizer::Sgd,
            "sgd" => Optimizer::Momentum,
            "nesterov" => Optimizer::Nesterov,
            "adagrad" => Optimizer::AdaGrad,
            "rmsprop" => Optimizer::RmsProp,
            "adadelta" => Optimizer::AdaDelta,
            "adam" => Optimizer::Adam,
            _ => return None,
        })
    }
}

/// The solver classes of BVLC Caffe (src/caffe/solvers/*.cpp), which size the solver state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaffeSolver {
    Sgd,
    Nesterov,
    AdaGrad,
    RmsProp,
    AdaDelta,
    Adam,
}

/// `--device`: where Caffe runs. The CPU code paths touch other buffers than the GPU ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    #[default]
    Gpu,
    Cpu,
}

/// `--engine`: Caffe's own convolution (im2col) or cuDNN's (a workspace).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    #[default]
    Caffe,
    Cudnn,
}

/// What the command line says about memory; `None` means "from the solver, else the default".
#[derive(Debug, Clone, Default)]
pub struct Flags {
    pub dtype: Dtype,
    pub optimizer: Option<Optimizer>,
    pub iter_size: Option<u32>,
    pub device: Device,
    pub engine: Engine,
    /// `--gpu-mem`, bytes.
    pub gpu_mem: Option<u64>,
    /// `--reserve`, bytes (default 0).
    pub reserve: u64,
    /// `--buffers`: list the caffe model's layer-internal buffers one by one.
    pub buffers: bool,
}

/// The settings the memory figures were computed with (the report's `settings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Resolved {
    pub dtype: Dtype,
    pub optimizer: Optimizer,
    pub iter_size: u32,
    pub device: Device,
    pub engine: Engine,
}

/// Parses a memory size: bytes (`1000`), or a number with a unit: `KB`/`MB`/`GB`/`TB`
/// (powers of 1000) or `KiB`/`MiB`/`GiB`/`TiB` (powers of 1024), case-insensitive, with an
/// optional fraction (`11.5GiB`); the result is rounded down to whole bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let s = text.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let unit = unit.trim();
    let scale: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => {
            return Err(format!(
                "'{text}': unknown unit '{unit}' (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)"
            ))
        }
    };
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    if int.is_empty() && frac.is_empty() || frac.contains('.') {
        return Err(format!("'{text}' is not a size such as 11GiB or 8000MB"));
    }
    let too_big = || format!("'{text}' is too large");
    let whole: u64 = if int.is_empty() {
        0
    } else {
        int.parse::<u64>().map_err(|_| too_big())?
    };
    let mut bytes = whole.checked_mul(scale).ok_or_else(too_big)?;
    // The fraction in exact integer arithmetic: digits * scale / 10^len, rounded down.
    if !frac.is_empty() {
        let digits: u128 = frac.parse().map_err(|_| too_big())?;
        let denom = 10u128
            .checked_pow(u32::try_from(frac.len()).map_err(|_| too_big())?)
            .ok_or_else(too_big)?;
        let part = digits * u128::from(scale) / denom;
        bytes = bytes
            .checked_add(u64::try_from(part).map_err(|_| too_big())?)
            .ok_or_else(too_big)?;
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("11GiB"), Ok(11 << 30));
        assert_eq!(parse_size("8000 MB"), Ok(8_000_000_000));
        assert_eq!(parse_size("1.5kib"), Ok(1536));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size(".5GB"), Ok(500_000_000));
        assert!(parse_size("11G").is_err());
        assert!(parse_size("GiB").is_err());
        assert!(parse_size("1.2.3GB").is_err());
        assert!(parse_size("99999999999999999999TiB").is_err());
    }
}
