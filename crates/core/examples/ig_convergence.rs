//! How fast Integrated Gradients converges on a model: the convergence delta
//! |Σ attributions − (F(x) − F(x′))| / |F(x) − F(x′)| of Gauss–Legendre at
//! growing step counts, per sentence. It is what `n_steps: "auto"` was tuned on.
//!
//!     cargo run --release -p bertlens-core --example ig_convergence -- www/models/minilm-intent

use bertlens_core::attribution::ig::{integrated_gradients, IgOptions};
use bertlens_core::attribution::{ForwardFunc, Scalar};
use bertlens_core::engine::Rows;
use bertlens_core::tokenizer::Tokenized;
use bertlens_core::{AttributionLayer, Model, ModelFiles, TargetOutput};

/// IG's forward function for the predicted class of a sequence classifier.
fn forward<'a>(model: &'a Model, input: &'a Tokenized) -> ForwardFunc<'a> {
    let class = model.predict(input).unwrap().predicted;
    let scalar = Scalar {
        rows: Rows::Pooled,
        contrast: None,
        class,
        output: TargetOutput::Logit,
    };
    ForwardFunc::new(model, input, AttributionLayer::Embeddings, scalar).unwrap()
}

const SENTENCES: &[&str] = &[
    "my card was declined at the grocery store",
    "please let me talk to a real person",
    "what's the weather like in Lisbon tomorrow?",
    "I'm really unhappy with the last answer you gave me",
    "how do I transfer money to my savings account",
    "book a table for four at an italian place tonight",
    "can you remind me to call my mom at 6pm",
    "the app keeps crashing whenever I try to upload a photo of my passport for verification",
    "my card was declined at the grocery store yesterday and i need to know why the bank blocked it",
    "i want to change the pin on my debit card and also check whether my last three payments went through, \
     because the merchant says it never received the money and i am worried that someone else has been using \
     my account details to buy things online without telling me about it at all",
    "set an alarm",
    "who are you",
    "thanks a lot that was really helpful",
    "what is the exchange rate between euros and dollars today and how much would i get for five hundred",
];

fn main() {
    let dir = std::env::args()
        .nth(1)
        .expect("usage: ig_convergence MODEL_DIR");
    let model = Model::load(ModelFiles::read_dir(&dir).unwrap()).unwrap();
    strategies(&model);
    let steps = [2, 4, 6, 8, 12, 16, 24, 32, 50, 100];
    print!("{:<44}", "sentence (tokens)");
    for n in steps {
        print!("{n:>9}");
    }
    println!();
    for s in SENTENCES {
        let input = model.tokenize(s, None).unwrap();
        let f = forward(&model, &input);
        let baseline = opts_baseline(&model, &input);
        print!("{:<44}", format!("{:.36} ({})", s, input.len()));
        for n in steps {
            let opts = IgOptions {
                n_steps: n.into(),
                ..Default::default()
            };
            let r = integrated_gradients(&f, &input.ids, Some(&baseline), &opts).unwrap();
            let rel = (r.delta / (r.score - r.baseline_score)).abs();
            print!("{:>8.3}%", 100.0 * rel);
        }
        println!();
    }
}

/// Steps `AutoIg` spends to reach 1%, by points per interval and initial pieces.
#[allow(dead_code)]
pub fn strategies(model: &Model) {
    use bertlens_core::attribution::adaptive::AutoIg;
    use bertlens_core::attribution::ig::{IgPlan, Points};
    let kinds = [(6, 2), (8, 2), (4, 4), (6, 3), (5, 2), (4, 3)];
    print!("{:<44}", "steps to 1% (nodes×pieces)");
    for (n, p) in kinds {
        print!("{:>12}", format!("{n}×{p}"));
    }
    println!();
    for s in SENTENCES {
        let input = model.tokenize(s, None).unwrap();
        let f = forward(model, &input);
        let baseline = opts_baseline(model, &input);
        let plan = IgPlan::new(&f, &input.ids, Some(&baseline), &IgOptions::default()).unwrap();
        print!("{:<44}", format!("{:.36} ({})", s, input.len()));
        for (nodes, pieces) in kinds {
            let mut ig = AutoIg::with(nodes, pieces, 0.01, 512);
            let p = loop {
                let round = ig.round();
                let sums = round
                    .intervals
                    .iter()
                    .map(|iv| {
                        let (alphas, weights) = iv.rule(nodes);
                        plan.points_sum_f64(&f, &Points { alphas, weights }, &|_| {})
                            .unwrap()
                    })
                    .collect();
                let scores = plan.scores_at(&f, &round.alphas).unwrap();
                ig.submit(sums, &scores, plan.diff());
                let p = ig.advance();
                if p.done {
                    break p;
                }
            };
            print!("{:>12}", format!("{} ({}r)", p.steps, p.rounds));
        }
        println!();
    }
}

/// Captum's BERT-tutorial baseline: `[CLS] [PAD] … [SEP]`.
fn opts_baseline(model: &Model, input: &Tokenized) -> Vec<u32> {
    IgOptions::default()
        .baseline
        .ids(model, input)
        .unwrap()
        .unwrap()
}
