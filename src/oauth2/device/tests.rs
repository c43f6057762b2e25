use super::*;

fn pending(last_request: UnixTime, interval: i64) -> DeviceToken {
    DeviceToken {
        device_code: "dev".into(),
        client_id: "kubectl".into(),
        status: DeviceStatus::Pending,
        expiry: 1_000,
        last_request,
        poll_interval_seconds: interval,
        ..Default::default()
    }
}

#[test]
fn user_codes_use_the_alphabet_and_the_dashed_form() {
    for _ in 0..200 {
        let code = generate_user_code();
        assert_eq!(code.len(), 9, "{code}");
        assert_eq!(&code[4..5], "-", "{code}");
        assert!(code.bytes().filter(|b| *b != b'-').all(|b| USER_CODE_ALPHABET.contains(&b)), "{code}");
        assert_eq!(normalize_user_code(&code).as_deref(), Some(code.as_str()));
    }
}

#[test]
fn rejection_sampling_gives_every_letter_the_same_share_of_bytes() {
    let mut counts = [0usize; 20];
    let mut rejected = 0;
    for byte in 0..=u8::MAX {
        match letter_for(byte) {
            Some(letter) => {
                counts[USER_CODE_ALPHABET.iter().position(|a| char::from(*a) == letter).unwrap()] += 1
            }
            None => rejected += 1,
        }
    }
    assert_eq!(counts, [12; 20]);
    assert_eq!(rejected, 16);
}

#[test]
fn user_codes_look_uniform() {
    // 20000 codes: 8000 of each letter expected, standard deviation about 87.
    let mut counts = [0usize; 20];
    for _ in 0..20_000 {
        for b in generate_user_code().bytes().filter(|b| *b != b'-') {
            counts[USER_CODE_ALPHABET.iter().position(|a| *a == b).unwrap()] += 1;
        }
    }
    assert!(counts.iter().all(|c| (7500..=8500).contains(c)), "{counts:?}");
}

#[test]
fn normalization_ignores_case_spaces_and_dashes() {
    assert_eq!(normalize_user_code("wdjb-mjht").as_deref(), Some("WDJB-MJHT"));
    assert_eq!(normalize_user_code(" WDJB MJHT ").as_deref(), Some("WDJB-MJHT"));
    assert_eq!(normalize_user_code("wdjbmjht").as_deref(), Some("WDJB-MJHT"));
    assert_eq!(normalize_user_code("W-D-J-B-M-J-H-T").as_deref(), Some("WDJB-MJHT"));
    assert_eq!(normalize_user_code("WDJB-MJH"), None, "too short");
    assert_eq!(normalize_user_code("WDJB-MJHTT"), None, "too long");
    assert_eq!(normalize_user_code("WDJB-MJHA"), None, "vowels are not in the alphabet");
    assert_eq!(normalize_user_code("WDJB-MJH1"), None, "digits are not in the alphabet");
    assert_eq!(normalize_user_code("WDJB-MJHÉ"), None);
    assert_eq!(normalize_user_code(""), None);
}

#[test]
fn first_poll_is_pending() {
    let Poll::Wait { next, slow_down } = poll(&pending(0, INTERVAL), 100) else { panic!() };
    assert!(!slow_down);
    assert_eq!((next.last_request, next.poll_interval_seconds), (100, INTERVAL));
}

#[test]
fn polling_at_the_interval_is_fine() {
    let Poll::Wait { next, slow_down } = poll(&pending(100, 5), 105) else { panic!() };
    assert!(!slow_down);
    assert_eq!((next.last_request, next.poll_interval_seconds), (105, 5));
}

#[test]
fn polling_too_fast_grows_the_interval_for_good() {
    let Poll::Wait { next, slow_down } = poll(&pending(100, 5), 102) else { panic!() };
    assert!(slow_down);
    assert_eq!((next.last_request, next.poll_interval_seconds), (102, 10));
    // Five seconds is no longer enough.
    let Poll::Wait { next, slow_down } = poll(&next, 107) else { panic!() };
    assert!(slow_down);
    assert_eq!(next.poll_interval_seconds, 15);
    // Keeping the new interval is.
    let Poll::Wait { next, slow_down } = poll(&next, 122) else { panic!() };
    assert!(!slow_down);
    assert_eq!(next.poll_interval_seconds, 15);
}

#[test]
fn a_stored_interval_below_the_minimum_counts_as_the_minimum() {
    let Poll::Wait { slow_down, next } = poll(&pending(100, 0), 103) else { panic!() };
    assert!(slow_down);
    assert_eq!(next.poll_interval_seconds, 10);
}

#[test]
fn outcomes() {
    let complete = DeviceToken { status: DeviceStatus::Complete, ..pending(100, 5) };
    assert_eq!(poll(&complete, 101), Poll::Complete, "a finished flow is never slowed down");
    let denied = DeviceToken { status: DeviceStatus::Denied, ..pending(100, 5) };
    assert_eq!(poll(&denied, 200), Poll::Denied);
    assert_eq!(poll(&pending(100, 5), 1_000), Poll::Expired);
    assert_eq!(poll(&complete, 1_000), Poll::Expired);
    // A status outside the protocol's cannot be stored or read back.
    let mut stored = serde_json::to_value(pending(100, 5)).unwrap();
    stored["status"] = "approved".into();
    assert!(serde_json::from_value::<DeviceToken>(stored).is_err());
}

#[test]
fn login_state_is_bound_to_the_device_code() {
    let request = DeviceRequest {
        user_code: "WDJB-MJHT".into(),
        device_code: "secret-device-code".into(),
        ..Default::default()
    };
    let state = login_state(&request);
    let (user_code, mac) = state.split_once('.').unwrap();
    assert_eq!(user_code, "WDJB-MJHT");
    assert_eq!(mac, state_mac(&request));
    let other = DeviceRequest { device_code: "another-device-code".into(), ..request };
    assert_ne!(state_mac(&other), mac);
}
