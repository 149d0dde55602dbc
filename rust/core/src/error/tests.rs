use super::*;

#[test]
fn shape_joins_location_and_message() {
    let e = Error::Shape {
        location: "shot 4".into(),
        message: "expected 3 qubit values like shot 0, got 2".into(),
    };
    assert_eq!(
        e.to_string(),
        "shot 4: expected 3 qubit values like shot 0, got 2"
    );
}

#[test]
fn alloc_shows_its_message() {
    assert_eq!(
        Error::Alloc("too many shots".into()).to_string(),
        "too many shots"
    );
}

#[test]
fn too_large_states_the_cap() {
    let e = Error::TooLarge {
        needed: 5000,
        cap: 4096,
        body: 10,
    };
    let text = e.to_string();
    assert!(text.contains("5000 bytes"), "{text}");
    assert!(text.contains("cap of 4096 bytes"), "{text}");
    assert!(text.contains("for 10 bytes of input"), "{text}");
}

#[test]
fn within_prefixes_the_text_and_keeps_the_variant() {
    let cases = [
        Error::Value("x".into()),
        Error::Index("x".into()),
        Error::Alloc("x".into()),
        Error::Shape {
            location: "term 1".into(),
            message: "x".into(),
        },
    ];
    for e in cases {
        let text = e.to_string();
        let inner = e.clone().within("group 3");
        assert_eq!(inner.to_string(), format!("group 3: {text}"));
        assert_eq!(
            std::mem::discriminant(&inner),
            std::mem::discriminant(&e),
            "{e:?}"
        );
    }
    let json = Error::Json {
        offset: 7,
        location: Box::new(Location {
            circuit: Some(0),
            ..Location::default()
        }),
        message: "expected ','".into(),
    }
    .within("part 2");
    assert_eq!(
        json.to_string(),
        "invalid measurements JSON at byte 7 (circuit 0): part 2: expected ','"
    );
}

#[test]
fn locations_list_the_parts_present() {
    assert_eq!(
        Location::of_row(&[5], 3, Some(1)).to_string(),
        "shot 3, qubit 1"
    );
    assert_eq!(
        Location::of_row(&[2, 5], 7, None).to_string(),
        "position (1,), shot 2"
    );
    assert_eq!(
        Location::of_row(&[2, 3, 5], 29, Some(0)).to_string(),
        "position (1, 2), shot 4, qubit 0"
    );
    let loc = Location {
        circuit: Some(0),
        key: Some(Location::quote_key("m")),
        shot: Some(2),
        ..Location::default()
    };
    assert_eq!(loc.to_string(), "circuit 0, key \"m\", shot 2");
    assert!(Location::default().is_empty());
}
