//! Time is only ever the caller's: the simulation's virtual clock fires each
//! deadline at its own instant, never early, and nothing sleeps.

use std::time::{Duration, Instant};

use polyshare_core::testing::sim::Sim;

#[test]
fn advancing_35s_fires_the_35s_deadline_and_not_the_35_001s_one() {
    let wall_before = Instant::now();
    let mut sim = Sim::with_memory(1, Instant::now());
    let t0 = sim.now();
    sim.server.set_user_timer(1, t0 + Duration::from_secs(35));
    sim.server.set_user_timer(2, t0 + Duration::from_millis(35_001));
    assert_eq!(sim.server.poll_timeout(), Some(t0 + Duration::from_secs(35)));

    sim.advance(Duration::from_secs(35) - Duration::from_nanos(1));
    assert!(sim.fired_user_timers().is_empty(), "nothing is due a nanosecond early");

    sim.advance(Duration::from_nanos(1));
    assert_eq!(sim.fired_user_timers(), vec![(1, t0 + Duration::from_secs(35))]);
    assert_eq!(sim.server.poll_timeout(), Some(t0 + Duration::from_millis(35_001)));

    sim.advance(Duration::from_millis(1));
    assert_eq!(
        sim.fired_user_timers(),
        vec![(1, t0 + Duration::from_secs(35)), (2, t0 + Duration::from_millis(35_001))]
    );
    assert_eq!(sim.server.poll_timeout(), None);
    // 35 virtual seconds passed; the real clock barely moved (no sleeping).
    assert!(wall_before.elapsed() < Duration::from_secs(5));
}

#[test]
fn one_advance_fires_every_deadline_on_the_way_at_its_own_instant() {
    let mut sim = Sim::with_memory(1, Instant::now());
    let t0 = sim.now();
    for (key, ms) in [(3u64, 3000u64), (1, 1000), (2, 2000), (4, 4000)] {
        sim.server.set_user_timer(key, t0 + Duration::from_millis(ms));
    }
    sim.advance(Duration::from_millis(3500));
    let fired = sim.fired_user_timers();
    assert_eq!(
        fired,
        vec![
            (1, t0 + Duration::from_millis(1000)),
            (2, t0 + Duration::from_millis(2000)),
            (3, t0 + Duration::from_millis(3000)),
        ]
    );
    assert_eq!(sim.now(), t0 + Duration::from_millis(3500));
}

#[test]
fn spurious_timeouts_are_harmless() {
    let mut sim = Sim::with_memory(1, Instant::now());
    let t0 = sim.now();
    sim.server.set_user_timer(9, t0 + Duration::from_secs(10));
    for _ in 0..3 {
        sim.server.handle_timeout(t0 + Duration::from_secs(1));
    }
    assert!(sim.server.poll_output().is_none());
    assert_eq!(sim.server.poll_timeout(), Some(t0 + Duration::from_secs(10)));
}
