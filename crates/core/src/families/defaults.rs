//! The defaults transformers' config classes give fields a `config.json`
//! may leave out, for `#[serde(default = "…")]`. Each family's file says
//! which of its fields take which.

pub fn positions_512() -> usize {
    512
}

pub fn type_vocab_2() -> usize {
    2
}

pub fn eps_1e12() -> f64 {
    1e-12
}

pub fn embedding_128() -> usize {
    128
}

pub fn one() -> usize {
    1
}

pub fn minus_one() -> i64 {
    -1
}

pub fn yes() -> bool {
    true
}
