//! A session answers what `explain` answers (which the parity tests hold
//! to transformers and Captum), from one preparation; its Integrated
//! Gradients, driven in jobs that travel as JSON (as the page's workers
//! receive them) and come back in any order, equal one call's; so do the
//! perturbation methods' inputs scored in ranges.

mod common;

use bertlens_core::explain::{explain, ExplainOptions, Method};
use bertlens_core::session::{IgJob, PerturbJob, Session};
use bertlens_core::Steps;
use common::*;
use serde_json::Value;

/// Drives `opts`' Integrated Gradients in jobs of `chunk` steps, each job
/// sent through JSON and computed last to first; the explanation.
fn in_jobs(
    name: &str,
    text: &str,
    pair: Option<&str>,
    opts: &ExplainOptions,
    chunk: usize,
) -> Value {
    let model = load(name);
    let session = Session::new(&model, text, pair, opts.top_k, false).unwrap();
    let mut run = session.ig(&model, opts).unwrap();
    let wire = serde_json::to_string(&run.job).unwrap();
    let job: IgJob = serde_json::from_str(&wire).unwrap();
    let mut rounds = 0;
    while let Some(round) = run.round(chunk) {
        let mut sums = vec![Vec::new(); round.jobs.len()];
        for (k, points) in round.jobs.iter().enumerate().rev() {
            sums[k] = job.gradient_sum(&model, opts, points).unwrap();
        }
        let scores = job.scores(&model, opts, &round.scores_at).unwrap();
        run.submit(sums, &scores).unwrap();
        rounds += 1;
    }
    assert!(rounds >= 1);
    let scores = run.finish(&model).unwrap();
    let e = session.assemble(&model, &run.opts, vec![(run.explained.clone(), scores)]);
    serde_json::to_value(e).unwrap()
}

fn close(what: &str, got: &Value, want: &Value, tol: f64) {
    let (g, w) = (floats(got), floats(want));
    assert_eq!(g.len(), w.len(), "{what}");
    let scale = w.iter().fold(1f64, |m, x| m.max(x.abs()));
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        assert!((a - b).abs() <= tol * scale, "{what}[{i}]: {a} vs {b}");
    }
}

#[test]
fn integrated_gradients_in_jobs_equal_one_call() {
    for (name, text, pair) in [
        ("bert", "the film was a quiet triumph", None),
        ("deberta-v3", "a slow, dull and pointless film", None),
        (
            "modernbert-qa",
            "Where is the hotel?",
            Some("The hotel is near the old bank."),
        ),
    ] {
        for n_steps in [Steps::Fixed(50), Steps::Fixed(13), Steps::Auto] {
            let opts = ExplainOptions {
                n_steps,
                ..ExplainOptions::default()
            };
            let whole =
                serde_json::to_value(explain(&load(name), text, pair, &opts).unwrap()).unwrap();
            for chunk in [1, 7, 64] {
                let got = in_jobs(name, text, pair, &opts, chunk);
                let what = format!("{name} {n_steps} chunk {chunk}");
                close(&what, &got["attributions"], &whole["attributions"], 1e-6);
                assert_eq!(got["ig"]["n_steps"], whole["ig"]["n_steps"], "{what}");
                assert!(
                    (got["delta"].as_f64().unwrap() - whole["delta"].as_f64().unwrap()).abs()
                        < 1e-5,
                    "{what}"
                );
            }
        }
    }
}

#[test]
fn perturbation_methods_scored_in_ranges_equal_one_call() {
    for (name, text, pair, part) in [
        (
            "bert",
            "the film was a quiet triumph, warm and wise",
            None,
            None,
        ),
        (
            "distilbert-ner",
            "Anna flew from Paris to Berlin",
            None,
            None,
        ),
        (
            "bert-qa",
            "Where is the hotel?",
            Some("The hotel is near the old bank."),
            Some(bertlens_core::Part::End),
        ),
    ] {
        let model = load(name);
        let session = Session::new(&model, text, pair, 5, false).unwrap();
        for (method, words, window, stride, n_samples) in [
            (Method::Occlusion, false, 1, 1, None),
            (Method::Occlusion, true, 2, 1, None),
            (Method::Shapley, true, 1, 1, None),
            (Method::Shapley, false, 1, 1, Some(3)),
        ] {
            let opts = ExplainOptions {
                method: Some(method),
                words,
                window,
                stride,
                n_samples,
                seed: 11,
                part,
                ..ExplainOptions::default()
            };
            let what =
                format!("{name} {method:?} words {words} window {window} n_samples {n_samples:?}");
            let want = serde_json::to_value(explain(&model, text, pair, &opts).unwrap()).unwrap();
            let run = session.perturbation(&model, &opts).unwrap();
            let started = serde_json::to_value(run.started(2)).unwrap();
            assert_eq!(
                started["inputs"].as_u64().unwrap() as usize,
                run.inputs,
                "{what}"
            );
            let job: PerturbJob = serde_json::from_value(started["job"].clone()).unwrap();
            // Ranges of 5 inputs, scored last to first, as workers might return them.
            let mut scores = vec![0.0; run.inputs];
            let ranges: Vec<usize> = (0..run.inputs).step_by(5).collect();
            for &from in ranges.iter().rev() {
                let to = (from + 5).min(run.inputs);
                scores[from..to].copy_from_slice(&job.scores(&model, &opts, from, to).unwrap());
            }
            let finished = run.finish(scores.clone()).unwrap();
            let got = serde_json::to_value(session.assemble(
                &model,
                &run.opts,
                vec![(run.explained.clone(), finished)],
            ))
            .unwrap();
            close(&what, &got["attributions"], &want["attributions"], 1e-6);
            assert_eq!(got["perturbation"], want["perturbation"], "{what}");
            assert_eq!(got["target"], want["target"], "{what}");
            // Too few scores, or a range past the end, are refused.
            scores.pop();
            assert!(run.finish(scores).is_err(), "{what}");
            assert!(
                job.scores(&model, &opts, 0, run.inputs + 1).is_err(),
                "{what}"
            );
        }
        // A gradient method is not run in ranges.
        let ig = ExplainOptions {
            part,
            ..ExplainOptions::default()
        };
        let err = session.perturbation(&model, &ig).unwrap_err();
        assert!(
            err.to_string().contains("not a perturbation method"),
            "{err}"
        );
    }
}

#[test]
fn one_session_answers_every_method_as_explain_does() {
    let model = load("bert");
    let text = "terrible plot, I hated it";
    let session = Session::new(&model, text, None, 5, true).unwrap();
    for method in [
        Method::Ig,
        Method::Saliency,
        Method::InputXGradient,
        Method::Rollout,
    ] {
        let opts = ExplainOptions {
            method: Some(method),
            ..ExplainOptions::default()
        };
        let want = explain(&model, text, None, &opts).unwrap();
        let got = session.explain(&model, &opts, &|_| {}).unwrap();
        assert_eq!(got, want, "{method:?}");
    }
    // The prediction carries the rollout of the pass it recorded.
    let p = session.prediction(&model, &ExplainOptions::default());
    let rollout = explain(
        &model,
        text,
        None,
        &ExplainOptions {
            method: Some(Method::Rollout),
            ..ExplainOptions::default()
        },
    )
    .unwrap();
    assert_eq!(p.attributions, rollout.attributions);
    assert_eq!(p.probabilities, rollout.probabilities);
    // Another number of answers needs another session.
    let opts = ExplainOptions {
        top_k: 3,
        ..ExplainOptions::default()
    };
    let err = session.explain(&model, &opts, &|_| {}).unwrap_err();
    assert!(err.to_string().contains("top_k"), "{err}");
}

#[test]
fn a_session_hands_out_one_layer_or_head_of_its_maps_and_its_rollout_once() {
    let model = load("bert");
    let session = Session::new(&model, "terrible plot, I hated it", None, 5, true).unwrap();
    let att = session.attentions().unwrap();
    let (t, d) = (att.tokens, att.head_dim);
    for layer in 0..att.layers {
        let all = session.attention_layer(layer, None).unwrap();
        assert_eq!(all.heads, (0, att.heads));
        assert_eq!(all.probabilities.len(), att.heads * t * t);
        assert!(all.position_scores.is_empty(), "BERT has no position terms");
        for head in 0..att.heads {
            let one = session.attention_layer(layer, Some(head)).unwrap();
            assert_eq!(one.probabilities, att.map(layer, head));
            assert_eq!(
                &all.probabilities[head * t * t..(head + 1) * t * t],
                att.map(layer, head)
            );
            let at = ((layer * att.heads + head) * t) * d;
            assert_eq!(one.queries, &att.queries[at..at + t * d]);
            assert_eq!(one.keys, &att.keys[at..at + t * d]);
        }
    }
    let err = session.attention_layer(att.layers, None).unwrap_err();
    assert!(err.to_string().contains("layers"), "{err}");
    let err = session.attention_layer(0, Some(att.heads)).unwrap_err();
    assert!(err.to_string().contains("heads"), "{err}");
    // The rollout: the maps' own, and the same one on the next call.
    let first = session.rollout().unwrap();
    assert_eq!(first, &att.rollout());
    assert!(std::ptr::eq(first, session.rollout().unwrap()));
    // Without the attentions recorded, no maps.
    let plain = Session::new(&model, "terrible plot", None, 5, false).unwrap();
    assert!(plain.attention_layer(0, None).is_err());
    assert!(plain.rollout().is_err());
}
