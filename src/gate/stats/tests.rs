use super::*;

const RULE: Rule = Rule {
    threshold: 0.10,
    warn: 0.05,
    noise_floor: 0.01,
};

fn side(runs: &[f64]) -> Side {
    Side {
        runs: runs.to_vec(),
        within_se: 0.0,
    }
}

#[test]
fn unchanged_runs_pass_and_a_clear_slowdown_regresses() {
    let base = side(&[100.0, 102.0, 99.0, 101.0, 100.0]);
    let same = compare(&base, &side(&[101.0, 99.5]), false, RULE).unwrap();
    assert_eq!(same.decision, Decision::Pass, "{same:?}");
    let slow = compare(&base, &side(&[121.0, 119.0]), false, RULE).unwrap();
    assert_eq!(slow.decision, Decision::Regressed, "{slow:?}");
    assert!((slow.change - 0.1980).abs() < 0.01);
    assert!(slow.interval.0 > 0.10);
}

#[test]
fn noisy_runs_are_inconclusive_rather_than_a_guess() {
    let base = side(&[100.0, 130.0, 85.0, 120.0, 95.0]);
    let c = compare(&base, &side(&[118.0]), false, RULE).unwrap();
    assert_eq!(c.decision, Decision::Inconclusive, "{c:?}");
    assert!(
        c.suspect(RULE.threshold),
        "worse than the threshold: confirm"
    );
    let near = compare(&base, &side(&[106.0]), false, RULE).unwrap();
    assert_eq!(near.decision, Decision::Inconclusive, "{near:?}");
    assert!(
        !near.suspect(RULE.threshold),
        "within the threshold: no more runs"
    );
    // Throughput 20 % down is worse: suspect even though the number went down.
    let tp = compare(
        &side(&[100.0, 130.0, 85.0, 120.0, 95.0]),
        &side(&[85.0]),
        true,
        RULE,
    )
    .unwrap();
    assert!(tp.worse > 0.1 && tp.suspect(RULE.threshold), "{tp:?}");
}

#[test]
fn direction_follows_the_metric() {
    let base = side(&[1000.0, 1010.0, 990.0]);
    // Throughput down 20 %: worse. Up 20 %: better.
    assert_eq!(
        compare(&base, &side(&[800.0, 805.0]), true, RULE)
            .unwrap()
            .decision,
        Decision::Regressed
    );
    assert_eq!(
        compare(&base, &side(&[1200.0, 1195.0]), true, RULE)
            .unwrap()
            .decision,
        Decision::Improved
    );
    // Latency down 20 %: better.
    assert_eq!(
        compare(&base, &side(&[800.0, 805.0]), false, RULE)
            .unwrap()
            .decision,
        Decision::Improved
    );
}

#[test]
fn a_small_worsening_warns() {
    let base = side(&[100.0, 100.5, 99.5, 100.2, 99.8]);
    let c = compare(&base, &side(&[106.5, 106.0]), false, RULE).unwrap();
    assert_eq!(c.decision, Decision::Warn, "{c:?}");
}

#[test]
fn single_runs_rely_on_the_sampling_error_and_the_floor() {
    let tight = Side {
        runs: vec![100.0],
        within_se: 0.01,
    };
    let c = compare(
        &tight,
        &Side {
            runs: vec![125.0],
            within_se: 0.01,
        },
        false,
        RULE,
    )
    .unwrap();
    assert_eq!(c.decision, Decision::Regressed, "{c:?}");
    let loose = Side {
        runs: vec![100.0],
        within_se: 0.10,
    };
    let c = compare(
        &loose,
        &Side {
            runs: vec![125.0],
            within_se: 0.10,
        },
        false,
        RULE,
    )
    .unwrap();
    assert_eq!(c.decision, Decision::Inconclusive, "{c:?}");
    assert!(
        compare(&side(&[0.0]), &side(&[1.0]), false, RULE).is_none(),
        "no positive baseline value"
    );
}

#[test]
fn paired_rounds_cancel_what_both_sides_share() {
    // The machine's slow episodes hit both sides of a round: the pairs decide at once
    // where two independent groups of the same numbers could not.
    let base = [100.0, 140.0, 95.0, 170.0, 110.0];
    let head: Vec<f64> = base.iter().map(|b| b * 1.10).collect();
    let rule = Rule {
        threshold: 0.05,
        warn: 0.025,
        noise_floor: 0.01,
    };
    let p = paired(&base, &head, false, rule).unwrap();
    assert_eq!(p.decision, Decision::Regressed, "{p:?}");
    assert!(p.paired && p.runs == (5, 5));
    let independent = compare(&side(&base), &side(&head), false, rule).unwrap();
    assert_eq!(
        independent.decision,
        Decision::Inconclusive,
        "{independent:?}"
    );
    // Unchanged: within the threshold.
    let same = paired(&base, &base.map(|b| b * 1.002), false, rule).unwrap();
    assert_eq!(same.decision, Decision::Pass, "{same:?}");
    assert!(paired(&[0.0], &[1.0], false, rule).is_none());
}

#[test]
fn undecided_comparisons_say_what_would_decide_them() {
    let rule = Rule {
        threshold: 0.05,
        warn: 0.025,
        noise_floor: 0.01,
    };
    // Two noisy rounds around +10 %: more rounds would decide.
    let p = paired(&[100.0, 100.0], &[104.0, 117.0], false, rule).unwrap();
    assert_eq!(p.decision, Decision::Inconclusive, "{p:?}");
    let Some(Needed::Runs(n)) = p.needed else {
        panic!("{p:?}")
    };
    assert!((1..50).contains(&n), "{n}");
    // One pair has no spread: undecided whatever the numbers.
    let one = paired(&[100.0], &[150.0], false, rule).unwrap();
    assert_eq!(one.decision, Decision::Inconclusive);
    // Right on the threshold: no number of rounds moves it off.
    let edge = paired(&[100.0, 100.0, 100.0], &[104.0, 106.0, 105.0], false, rule).unwrap();
    assert_eq!(edge.needed, Some(Needed::Never), "{edge:?}");
    // Against a stored baseline too noisy to decide, only a better baseline helps.
    let base = side(&[100.0, 160.0]);
    let c = compare(&base, &side(&[118.0]), false, RULE).unwrap();
    assert!(matches!(c.needed, Some(Needed::BaselineRuns(_))), "{c:?}");
    let decided = compare(&side(&[100.0, 101.0, 99.0]), &side(&[100.5]), false, RULE).unwrap();
    assert_eq!(decided.needed, None);
}

#[test]
fn quantile_sampling_error_shrinks_with_samples() {
    let make = |n: u64| {
        let mut h = Histogram::<u64>::new(3).unwrap();
        for i in 0..n {
            h.record(1000 + (i * 7919) % 1000).unwrap();
        }
        h
    };
    let (small, large) = (
        quantile_se(&make(200), 0.99),
        quantile_se(&make(20_000), 0.99),
    );
    assert!(small > 2.0 * large && large > 0.0, "{small} vs {large}");
}
