//! A link's tests: its handshake refusals and its connection states.

use super::*;

#[test]
fn partials_come_back_as_they_went_in_and_stores_are_reused() {
    let spec = crate::submit::cluster::hosts::parse_host("127.0.0.1:1").unwrap();
    let mut link = Link::new(spec, Token(0), None);
    let now = Instant::now();
    link.start_flight(1, 0, 0, false, now);
    let sent: [&[u8]; 4] = [b"first", b"", b"third one", &[7; 1000]];
    for p in sent {
        link.flights.get_mut(&1).unwrap().partials.push(p);
    }
    let flight = link.end_flight(1, now).unwrap();
    assert_eq!(flight.partials.iter().collect::<Vec<_>>(), sent);
    let kept = flight.partials.bytes.as_ptr();
    link.recycle_partials(flight.partials);
    // The next piece gets the emptied store, memory and all.
    link.start_flight(2, 1, 0, false, now);
    let partials = &link.flights[&2].partials;
    assert_eq!((partials.iter().count(), partials.bytes.as_ptr()), (0, kept));
}

#[test]
fn a_parameter_goes_only_to_a_worker_whose_minor_has_it() {
    let spec = crate::submit::cluster::hosts::parse_host("127.0.0.1:1").unwrap();
    let mut link = Link::new(spec, Token(0), None);
    assert_eq!(link.peer_minor(), None);
    assert!(!link.may_send(0), "nothing is known before the Welcome");
    for (minor, since, ok) in [(2, 3, false), (3, 3, true), (4, 3, true), (0, 1, false), (1, 0, true)] {
        link.welcome = Some(Welcome {
            protocol_major: PROTOCOL_MAJOR,
            protocol_minor: minor,
            software: "0.1.0".into(),
            hostname: "pi".into(),
            arch: "arm64".into(),
            threads: 4,
            max_frame: 1 << 24,
            challenge: Challenge::Open,
        });
        assert_eq!(link.peer_minor(), Some(minor));
        assert_eq!(link.may_send(since), ok, "worker 1.{minor}, a parameter of 1.{since}");
    }
}
