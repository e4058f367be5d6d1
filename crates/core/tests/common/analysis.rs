//! Helpers of the analysis tests: the goldens of tests/fixtures/analysis/
//! (written by tests/fixtures/gen_analysis.py), and an estimate of an
//! anchor's precision made without the anchor code.
#![allow(dead_code)]

use std::path::PathBuf;

use bertlens_core::analysis::Row;
use bertlens_core::Model;
use serde_json::Value;

pub fn golden(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/analysis")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

pub fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

pub fn f32s(v: &Value) -> Vec<f32> {
    f64s(v).into_iter().map(|x| x as f32).collect()
}

pub fn opt_f64s(v: &Value) -> Vec<Option<f64>> {
    v.as_array().unwrap().iter().map(Value::as_f64).collect()
}

pub fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

/// |a − b| ≤ tol, with a message.
pub fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!((a - b).abs() <= tol, "{what}: {a} vs {b} (tolerance {tol})");
}

pub fn close_opt(a: &[Option<f64>], b: &[Option<f64>], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        match (x, y) {
            (Some(x), Some(y)) => close(*x, *y, tol, &format!("{what}[{i}]")),
            (None, None) => {}
            _ => panic!("{what}[{i}]: {x:?} vs {y:?}"),
        }
    }
}

/// The rows of bert-set.json as the analysis reads them.
pub fn set_rows(g: &Value) -> Vec<Row> {
    g["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| Row {
            index: r["index"].as_u64().unwrap() as usize,
            text: r["text"].as_str().unwrap().to_string(),
            pair: None,
            label: r["label"].as_str().map(str::to_string),
        })
        .collect()
}

/// SplitMix64, written again here (not the crate's): a test of its seeding.
pub struct Mix(pub u64);

impl Mix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The anchor's precision estimated independently: `n` sentences in which
/// each word outside `anchor` (word indices) is masked with probability ½
/// (every wordpiece of it becomes the mask token), each run alone through
/// `Model::predict`; the fraction predicted as `label`.
pub fn precision_by_resampling(
    model: &Model,
    text: &str,
    anchor: &[usize],
    label: usize,
    n: usize,
) -> f64 {
    let input = model.tokenize(text, None).unwrap();
    let mask = model.tokenizer().mask_id().unwrap();
    // The word of each token, numbered from 0 in order.
    let mut words: Vec<Option<usize>> = Vec::new();
    let mut count = 0;
    let mut last = None;
    for w in &input.word_ids {
        match w {
            Some(w) => {
                if last != Some(*w) {
                    count += 1;
                    last = Some(*w);
                }
                words.push(Some(count - 1));
            }
            None => {
                last = None;
                words.push(None);
            }
        }
    }
    let mut rng = Mix(0x5eed);
    let mut same = 0;
    for _ in 0..n {
        let hidden: Vec<bool> = (0..count)
            .map(|w| !anchor.contains(&w) && rng.unit() < 0.5)
            .collect();
        let mut t = input.clone();
        for (i, w) in words.iter().enumerate() {
            if let Some(w) = w {
                if hidden[*w] {
                    t.ids[i] = mask;
                }
            }
        }
        if model.predict(&t).unwrap().predicted == label {
            same += 1;
        }
    }
    same as f64 / n as f64
}
