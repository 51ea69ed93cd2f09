//! The impact report's picture: per step, the locks held on pre-existing relations as bars on
//! one time axis, and under it every Directus-like write's latency against the stall limit (SVG).

use plotters::coord::ranged1d::{IntoSegmentedCoord, SegmentValue};
use plotters::prelude::*;

use super::load::Access;
use super::report::ImpactReport;
use super::rules::LockMode;
use crate::error::{Error, ErrorKind, Result};

/// The file the picture is written to, next to `impact.md`.
pub const FILE: &str = super::report::TIMELINE_FILE;

const WIDTH: u32 = 1100;
const LANE: u32 = 26;
const LABELS: u32 = 300;

/// A colour per lock mode, from green (ACCESS SHARE) to red (ACCESS EXCLUSIVE).
fn colour(mode: LockMode) -> RGBColor {
    let all: Vec<LockMode> = <LockMode as strum::IntoEnumIterator>::iter().collect();
    let i = all.iter().position(|m| *m == mode).unwrap_or(0) as f64;
    let t = i / (all.len().max(2) - 1) as f64;
    RGBColor((40.0 + 200.0 * t) as u8, (170.0 - 130.0 * t) as u8, 60)
}

fn plot_err<E: std::fmt::Display>(e: E) -> Error {
    Error::new(
        ErrorKind::ImpactPlot,
        format!("The impact timeline could not be drawn: {e}."),
    )
}

/// The timeline as an SVG document.
pub fn svg(r: &ImpactReport) -> Result<String> {
    let lanes = r.steps.len().max(1);
    let x_end = r
        .steps
        .iter()
        .map(|s| s.ended_at_ms)
        .chain(r.samples.iter().map(|s| s.start_ms + s.latency_ms))
        .fold(1.0_f64, f64::max)
        * 1.02;
    let limit = r.rules.max_writer_stall_ms as f64;
    let top_h = 90 + LANE * lanes as u32;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, top_h + 300)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let (top, bottom) = root.split_vertically(top_h);

        let names: Vec<String> = r
            .steps
            .iter()
            .map(|s| format!("{} {}", s.phase, s.step))
            .collect();
        let mut locks = ChartBuilder::on(&top)
            .caption(
                "Locks held on pre-existing relations, per step (BEGIN to COMMIT)",
                ("sans-serif", 18),
            )
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(LABELS)
            .build_cartesian_2d(0.0..x_end, (0..lanes).into_segmented())
            .map_err(plot_err)?;
        locks
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(lanes)
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => names.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .x_desc("ms since the plan started")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .draw()
            .map_err(plot_err)?;
        // The step itself, light; each hold over it in its mode's colour.
        locks
            .draw_series(r.steps.iter().enumerate().map(|(i, s)| {
                let mut bar = Rectangle::new(
                    [
                        (s.started_at_ms, SegmentValue::Exact(i)),
                        (
                            s.ended_at_ms.max(s.started_at_ms),
                            SegmentValue::Exact(i + 1),
                        ),
                    ],
                    RGBColor(215, 215, 215).filled(),
                );
                bar.set_margin(3, 3, 0, 0);
                bar
            }))
            .map_err(plot_err)?;
        let mut modes: Vec<LockMode> = r
            .steps
            .iter()
            .flat_map(|s| s.holds.iter().map(|h| h.mode))
            .collect();
        modes.sort();
        modes.dedup();
        for mode in modes {
            let c = colour(mode);
            locks
                .draw_series(r.steps.iter().enumerate().flat_map(|(i, s)| {
                    s.holds
                        .iter()
                        .filter(move |h| h.mode == mode)
                        .map(move |h| {
                            let mut bar = Rectangle::new(
                                [
                                    (s.started_at_ms + h.acquired_ms, SegmentValue::Exact(i)),
                                    (s.ended_at_ms, SegmentValue::Exact(i + 1)),
                                ],
                                c.filled(),
                            );
                            bar.set_margin(7, 7, 0, 0);
                            bar
                        })
                }))
                .map_err(plot_err)?
                .label(mode.sql())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], c.filled()));
        }
        locks
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(plot_err)?;

        let y_end = r
            .samples
            .iter()
            .map(|s| s.latency_ms)
            .fold(limit * 1.25, f64::max);
        let caption = if r.load > 0.0 {
            format!(
                "Latency of Directus-like sessions under load ({} statements/s; dots writes, triangles reads; red: over the {} ms limit)",
                r.load, r.rules.max_writer_stall_ms
            )
        } else {
            "No load: run `dryrun impact --load RATE` to see read and write latency".to_string()
        };
        let mut lat = ChartBuilder::on(&bottom)
            .caption(caption, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(LABELS)
            .build_cartesian_2d(0.0..x_end, 0.0..y_end)
            .map_err(plot_err)?;
        lat.configure_mesh()
            .y_desc("latency, ms")
            .x_desc("ms since the plan started")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .draw()
            .map_err(plot_err)?;
        let colour_of = |s: &super::load::Sample| {
            if s.error.is_some() || s.latency_ms > limit {
                RED
            } else {
                RGBColor(30, 90, 200)
            }
        };
        lat.draw_series(
            r.samples
                .iter()
                .filter(|s| s.access == Access::Write)
                .map(|s| Circle::new((s.start_ms, s.latency_ms), 2, colour_of(s).filled())),
        )
        .map_err(plot_err)?;
        lat.draw_series(
            r.samples
                .iter()
                .filter(|s| s.access == Access::Read)
                .map(|s| TriangleMarker::new((s.start_ms, s.latency_ms), 4, colour_of(s).filled())),
        )
        .map_err(plot_err)?;
        lat.draw_series(LineSeries::new(
            [(0.0, limit), (x_end, limit)],
            RGBColor(150, 0, 0).stroke_width(1),
        ))
        .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::impact::load::Sample;
    use crate::impact::profile::{LockHold, Phase, StepProfile};
    use crate::impact::rules::ImpactRules;

    fn step(name: &str, from: f64, to: f64, holds: Vec<LockHold>) -> StepProfile {
        StepProfile {
            step: name.into(),
            phase: Phase::Deploy,
            file: format!("deploy/{name}.sql"),
            duration_ms: to - from,
            statements: vec![],
            holds,
            error: None,
            started_at_ms: from,
            ended_at_ms: to,
            stalls: None,
        }
    }

    #[test]
    fn the_timeline_draws_each_step_hold_and_write() {
        let rules = ImpactRules::load(None).expect("bundled");
        let hold = |mode, rel: &str| LockHold {
            relation: rel.into(),
            mode,
            by: "deploy/x.sql:3".into(),
            acquired_ms: 5.0,
            held_ms: 1000.0,
        };
        let r = ImpactReport {
            plan: "p".into(),
            plan_digest: "d".into(),
            dump: "x.dump".into(),
            dump_sha256: "s".into(),
            image: "i".into(),
            rules_source: rules.source.clone(),
            rules,
            lint: vec![],
            steps: vec![
                step(
                    "01_a",
                    0.0,
                    20.0,
                    vec![hold(LockMode::AccessShareLock, "public.dot_tools")],
                ),
                step(
                    "02_b",
                    20.0,
                    1220.0,
                    vec![hold(
                        LockMode::AccessExclusiveLock,
                        "public.tac_logical_unit",
                    )],
                ),
            ],
            load: 40.0,
            samples: vec![
                Sample {
                    writer: 0,
                    table: "public.tac_logical_unit".into(),
                    access: Access::Write,
                    start_ms: 30.0,
                    latency_ms: 1180.0,
                    error: None,
                },
                Sample {
                    writer: 1,
                    table: "public.dot_tools".into(),
                    access: Access::Read,
                    start_ms: 10.0,
                    latency_ms: 2.0,
                    error: None,
                },
            ],
            verdicts: vec![],
            passed: false,
            test_hooks: vec![],
        };
        let svg = svg(&r).expect("drawn");
        assert!(svg.starts_with("<svg"), "{}", &svg[..80.min(svg.len())]);
        for text in [
            "deploy 01_a",
            "deploy 02_b",
            "ACCESS SHARE",
            "ACCESS EXCLUSIVE",
            "40 statements/s",
        ] {
            assert!(svg.contains(text), "{text} missing");
        }
        // One write (a dot, red: over the limit), one read (a triangle).
        assert_eq!(svg.matches("<circle").count(), 1, "{svg}");
        assert!(svg.contains("<polygon"), "{svg}");
        assert!(svg.contains("fill=\"#FF0000\""), "{svg}");
    }
}
