//! Order statistics of a sample.

use std::time::Duration;

/// The `q` quantile (0..=1) by the nearest-rank method; `None` for an empty sample.
pub fn quantile(sample: &[Duration], q: f64) -> Option<Duration> {
    if sample.is_empty() {
        return None;
    }
    let mut sorted = sample.to_vec();
    sorted.sort();
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

pub fn median(sample: &[Duration]) -> Option<Duration> {
    quantile(sample, 0.5)
}

pub fn p90(sample: &[Duration]) -> Option<Duration> {
    quantile(sample, 0.9)
}

/// Milliseconds, for tables.
pub fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|v| Duration::from_millis(*v)).collect()
    }

    #[test]
    fn quantiles_use_the_nearest_rank() {
        let values = sample(&[5, 1, 4, 2, 3, 10, 9, 8, 7, 6]);
        assert_eq!(median(&values), Some(Duration::from_millis(5)));
        assert_eq!(p90(&values), Some(Duration::from_millis(9)));
        assert_eq!(quantile(&values, 1.0), Some(Duration::from_millis(10)));
        assert_eq!(median(&[]), None);
    }
}
