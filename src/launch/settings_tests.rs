//! Run settings from `config.toml` under the flags, and how `ttc run --help` shows them.

use super::tests::launch_with_config;
use super::*;

#[test]
fn particle_and_confidence_keys_come_from_the_config_under_the_flags() {
    let conf = "[run]\nparticle_temp = 0.5\nresample = \"multinomial\"\ness_threshold = 0.25\nconfidence_window = 64\nconfidence_cutoff = 0.4\n";
    let configured = launch_with_config("pf-conf", conf, &[]);
    assert!(configured.warnings().is_empty(), "{:?}", configured.warnings());
    let run = configured.run_config();
    assert_eq!((run.particles.temp, run.particles.ess_threshold), (0.5, 0.25));
    assert_eq!(run.particles.resample, crate::spec::ResampleKind::Multinomial);
    assert_eq!((run.confidence_window, run.confidence_cutoff), (64, Some(0.4)));
    assert_eq!(configured.verifier_settings().confidence_window, Some(64));
    let flagged = launch_with_config(
        "pf-flag",
        conf,
        &[
            "--particle-temp",
            "2",
            "--ess-threshold",
            "0",
            "--confidence-window",
            "8",
            "--confidence-cutoff",
            "0.1",
        ],
    );
    let run = flagged.run_config();
    assert_eq!((run.particles.temp, run.particles.ess_threshold), (2.0, 0.0));
    assert_eq!((run.confidence_window, run.confidence_cutoff), (8, Some(0.1)));
    // An out-of-range key is named with its file and range, and falls back alone.
    let bad = launch_with_config("pf-bad", "[run]\nparticle_temp = 50\ness_threshold = 0.5\n", &[]);
    let w = bad.warnings().join("\n");
    assert!(w.contains("config.toml: run.particle_temp = 50 is out of range (valid: 0.05..=20)"), "{w}");
    let run = bad.run_config();
    let base = RunConfig::default();
    assert_eq!((run.particles.temp, run.particles.ess_threshold), (base.particles.temp, 0.5));
}

#[test]
fn run_help_keeps_each_methods_flags_together_with_their_config_keys() {
    use clap::CommandFactory;
    let help = RunFlags::command().render_long_help().to_string();
    let flags: Vec<&str> = help
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("--").or_else(|| l.trim_start().strip_prefix("-n, --")))
        .map(|l| l.split([' ', '\n']).next().unwrap_or(""))
        .collect();
    for group in [
        &["confidence-window", "confidence-cutoff"][..],
        &["confidence", "batch"],
        &["particle-temp", "resample", "ess-threshold"],
    ] {
        let at = flags.iter().position(|f| *f == group[0]).unwrap_or_else(|| panic!("{help}"));
        assert_eq!(&flags[at..at + group.len()], group, "{help}");
    }
    for key in [
        "run.confidence_window",
        "run.confidence_cutoff",
        "run.confidence",
        "run.batch",
        "run.particle_temp",
        "run.resample",
        "run.ess_threshold",
    ] {
        assert!(help.contains(&format!("[config: {key}")), "--help lacks {key}:\n{help}");
    }
}
