//! The speed-up chart's tests: the SVG parsed back and its geometry checked.

use super::*;

fn pt(cores: usize, wall_secs: f64) -> ScalingPoint {
    ScalingPoint { cores, wall_secs }
}

/// Fails the test unless the SVG is well-formed XML with an `svg` root in the SVG namespace.
fn parse(svg: &str) -> roxmltree::Document<'_> {
    let doc = match roxmltree::Document::parse(svg) {
        Ok(doc) => doc,
        Err(e) => panic!("not valid XML: {e}\n{svg}"),
    };
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.tag_name().namespace(), Some("http://www.w3.org/2000/svg"));
    assert_eq!(root.attribute("viewBox"), Some("0 0 720 480"));
    doc
}

fn with_class<'a, 'i>(doc: &'a roxmltree::Document<'i>, class: &str) -> Vec<roxmltree::Node<'a, 'i>> {
    doc.descendants().filter(|n| n.attribute("class") == Some(class)).collect()
}

fn attr(node: roxmltree::Node, name: &str) -> f64 {
    node.attribute(name).and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("no numeric {name}"))
}

fn polyline_points(doc: &roxmltree::Document) -> Vec<(f64, f64)> {
    let lines = with_class(doc, "measured");
    assert_eq!(lines.len(), 1, "exactly one measured series");
    assert_eq!(doc.descendants().filter(|n| n.has_tag_name("polyline") || n.has_tag_name("path")).count(), 1);
    let points = lines[0].attribute("points").unwrap_or("");
    points
        .split_whitespace()
        .map(|pair| {
            let (x, y) = pair.split_once(',').unwrap_or_else(|| panic!("bad pair {pair}"));
            (x.parse().unwrap_or(f64::NAN), y.parse().unwrap_or(f64::NAN))
        })
        .collect()
}

fn markers<'a, 'i>(doc: &'a roxmltree::Document<'i>) -> Vec<roxmltree::Node<'a, 'i>> {
    with_class(doc, "marker")
}

fn sub_linear() -> Vec<ScalingPoint> {
    vec![pt(1, 64.0), pt(2, 33.0), pt(4, 17.2), pt(8, 9.1), pt(16, 5.0), pt(32, 2.9)]
}

#[test]
fn chart_has_one_series_with_a_marker_per_point() {
    let svg = speedup_svg("primes", &sub_linear());
    let doc = parse(&svg);
    assert_eq!(polyline_points(&doc).len(), 6);
    assert_eq!(markers(&doc).len(), 6);
    assert_eq!(with_class(&doc, "ideal").len(), 1);
    assert!(doc.descendants().any(|n| n.text() == Some("cores")));
    assert!(doc.descendants().any(|n| n.text() == Some("speed-up")));
    assert!(doc.descendants().any(|n| n.text() == Some("measured")));
    assert!(doc.descendants().any(|n| n.text() == Some("ideal")));
}

#[test]
fn markers_carry_tooltips() {
    let svg = speedup_svg("t", &[pt(1, 10.0), pt(4, 2.5), pt(8, 2.0)]);
    let doc = parse(&svg);
    let tips: Vec<&str> = markers(&doc)
        .iter()
        .map(|m| m.children().find(|c| c.has_tag_name("title")).and_then(|t| t.text()).unwrap_or(""))
        .collect();
    assert_eq!(
        tips,
        [
            "1 core: 10 s, speed-up 1, efficiency 100%",
            "4 cores: 2.5 s, speed-up 4, efficiency 100%",
            "8 cores: 2 s, speed-up 5, efficiency 62.5%",
        ]
    );
}

#[test]
fn title_is_escaped_and_round_trips() {
    let title = r#"a <&> "b" 'c'"#;
    let svg = speedup_svg(title, &sub_linear());
    assert!(!svg.contains("<&>"));
    let doc = parse(&svg);
    let shown = with_class(&doc, "title");
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].text(), Some(title));
}

#[test]
fn control_characters_in_the_title_keep_the_xml_valid() {
    let svg = speedup_svg("job\u{1b}[1m\u{0}", &sub_linear());
    let doc = parse(&svg);
    assert_eq!(with_class(&doc, "title")[0].text(), Some("job\u{FFFD}[1m\u{FFFD}"));
}

#[test]
fn long_title_is_set_smaller_then_cut() {
    let title_size = |svg: &str| -> f64 { attr(with_class(&parse(svg), "title")[0], "font-size") };
    assert_eq!(title_size(&speedup_svg("short", &sub_linear())), TITLE_SIZE);

    let longer = "x".repeat(90);
    let size = title_size(&speedup_svg(&longer, &sub_linear()));
    assert!(size < TITLE_SIZE && size * 0.62 * 90.0 <= WIDTH - 32.0, "size {size}");

    let title = "&".repeat(300);
    let svg = speedup_svg(&title, &sub_linear());
    let doc = parse(&svg);
    let shown = with_class(&doc, "title")[0].text().unwrap_or("");
    assert!(shown.ends_with('…') && shown.chars().count() as f64 * 11.0 * 0.62 <= WIDTH - 32.0, "{shown}");
    // The whole title is kept as the document's title.
    let whole = doc.root_element().children().find(|n| n.has_tag_name("title")).and_then(|n| n.text());
    assert_eq!(whole, Some(title.as_str()));
}

/// Distance in pixels from (x, y) to the line through the ideal segment.
fn distance_to_ideal(doc: &roxmltree::Document, x: f64, y: f64) -> f64 {
    let ideal = with_class(doc, "ideal")[0];
    let (x1, y1, x2, y2) = (attr(ideal, "x1"), attr(ideal, "y1"), attr(ideal, "x2"), attr(ideal, "y2"));
    let cross = (x2 - x1) * (y - y1) - (y2 - y1) * (x - x1);
    cross.abs() / (x2 - x1).hypot(y2 - y1)
}

#[test]
fn perfect_scaling_lies_on_the_ideal_line() {
    let points: Vec<ScalingPoint> = [1, 2, 3, 4, 6, 8, 12, 16].iter().map(|&n| pt(n, 96.0 / n as f64)).collect();
    let svg = speedup_svg("perfect", &points);
    let doc = parse(&svg);
    let ideal = with_class(&doc, "ideal")[0];
    for (x, y) in polyline_points(&doc) {
        // Emitted coordinates are rounded to 0.01 px, so allow that much.
        assert!(distance_to_ideal(&doc, x, y) < 0.02, "({x}, {y}) is off the ideal line");
    }
    for m in markers(&doc) {
        assert!(distance_to_ideal(&doc, attr(m, "cx"), attr(m, "cy")) < 0.02);
    }
    // The ideal segment runs from the first to the last measured point.
    let pts = polyline_points(&doc);
    assert_eq!((attr(ideal, "x1"), attr(ideal, "y1")), pts[0]);
    assert_eq!((attr(ideal, "x2"), attr(ideal, "y2")), pts[pts.len() - 1]);
}

#[test]
fn baseline_above_one_core_scales_by_its_cores() {
    // 2 cores take 50 s, so 8 cores in 12.5 s is ideal: S(8) = 2 * 50 / 12.5 = 8.
    let svg = speedup_svg("b", &[pt(2, 50.0), pt(8, 12.5)]);
    let doc = parse(&svg);
    for (x, y) in polyline_points(&doc) {
        assert!(distance_to_ideal(&doc, x, y) < 0.02);
    }
}

#[test]
fn sub_linear_points_fall_below_the_ideal() {
    let svg = speedup_svg("s", &sub_linear());
    let doc = parse(&svg);
    let ideal = with_class(&doc, "ideal")[0];
    let (x1, y1, x2, y2) = (attr(ideal, "x1"), attr(ideal, "y1"), attr(ideal, "x2"), attr(ideal, "y2"));
    for (x, y) in polyline_points(&doc).into_iter().skip(1) {
        let ideal_y = y1 + (y2 - y1) * (x - x1) / (x2 - x1);
        // Below on the chart is a larger pixel y.
        assert!(y > ideal_y, "({x}, {y}) not below the ideal at y {ideal_y}");
    }
}

#[test]
fn one_point() {
    let svg = speedup_svg("one", &[pt(4, 3.0)]);
    let doc = parse(&svg);
    assert_eq!(polyline_points(&doc).len(), 1);
    assert_eq!(markers(&doc).len(), 1);
    let ideal = with_class(&doc, "ideal")[0];
    // Not a zero-length line: it runs from the origin across the plot.
    assert!(attr(ideal, "x2") - attr(ideal, "x1") > 100.0);
    let m = markers(&doc)[0];
    assert!(distance_to_ideal(&doc, attr(m, "cx"), attr(m, "cy")) < 0.02);
}

#[test]
fn empty_slice_draws_axes_and_says_no_data() {
    let svg = speedup_svg("none", &[]);
    let doc = parse(&svg);
    assert_eq!(with_class(&doc, "no-data").len(), 1);
    assert!(with_class(&doc, "measured").is_empty());
    assert!(with_class(&doc, "legend").is_empty());
    assert!(markers(&doc).is_empty());
    assert_eq!(with_class(&doc, "x-axis").len(), 1);
    assert_eq!(with_class(&doc, "y-axis").len(), 1);
}

#[test]
fn invalid_times_are_skipped() {
    let points = [pt(1, 8.0), pt(2, f64::NAN), pt(3, 0.0), pt(4, -1.0), pt(5, f64::INFINITY), pt(8, 1.1), pt(0, 1.0)];
    let svg = speedup_svg("nan", &points);
    let doc = parse(&svg);
    assert!(!svg.contains("NaN") && !svg.contains("inf"));
    assert_eq!(polyline_points(&doc).len(), 2);
    assert_eq!(markers(&doc).len(), 2);
    assert!(with_class(&doc, "no-data").is_empty());
}

#[test]
fn only_invalid_times_says_no_data() {
    let svg = speedup_svg("nan", &[pt(1, f64::NAN), pt(2, 0.0)]);
    let doc = parse(&svg);
    assert_eq!(with_class(&doc, "no-data").len(), 1);
    assert!(markers(&doc).is_empty());
}

#[test]
fn unsorted_input_uses_the_fewest_cores_as_baseline() {
    let sorted = speedup_svg("u", &[pt(1, 10.0), pt(2, 6.0), pt(4, 3.0)]);
    let shuffled = speedup_svg("u", &[pt(4, 3.0), pt(1, 10.0), pt(2, 6.0)]);
    assert_eq!(sorted, shuffled);
}

#[test]
fn many_cores_stay_inside_the_plot_with_few_ticks() {
    let points: Vec<ScalingPoint> =
        (1..=240).step_by(7).map(|n| pt(n, 1000.0 / (n as f64).powf(0.9))).chain([pt(240, 8.0)]).collect();
    let svg = speedup_svg("big", &points);
    let doc = parse(&svg);
    assert_eq!(markers(&doc).len(), points.len());
    for (x, y) in polyline_points(&doc) {
        assert!((PLOT_LEFT..=PLOT_RIGHT).contains(&x) && (PLOT_TOP..=PLOT_BOTTOM).contains(&y), "({x}, {y})");
    }
    let labels = with_class(&doc, "tick-labels")[0].children().filter(|n| n.has_tag_name("text")).count();
    // 0, 50, ..., 250 on both axes.
    assert_eq!(labels, 2 * 6);
    assert_eq!(Scale::for_samples(&samples(&points)).x, Axis { max: 250.0, step: 50.0 });
}

#[test]
fn super_linear_speed_up_grows_the_y_axis() {
    let scale = Scale::for_samples(&samples(&[pt(1, 100.0), pt(4, 10.0)]));
    assert_eq!(scale.x, Axis { max: 4.0, step: 1.0 });
    assert!(scale.y.max >= 10.0);
}

#[test]
fn output_is_deterministic() {
    assert_eq!(speedup_svg("d", &sub_linear()), speedup_svg("d", &sub_linear()));
}

#[test]
fn numbers_have_at_most_two_decimals() {
    assert_eq!(num(2.5), "2.5");
    assert_eq!(num(3.0), "3");
    assert_eq!(num(1.0 / 3.0), "0.33");
    assert_eq!(num(-0.001), "0");
    assert_eq!(num(0.6000000000000001), "0.6");
    assert_eq!(num(123.456), "123.46");
    let svg = speedup_svg("d", &sub_linear());
    let max_decimals = svg
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|token| token.split_once('.').map(|(_, frac)| frac.len()))
        .max();
    assert!(max_decimals.unwrap_or(0) <= 2);
}

#[test]
fn nice_axes() {
    assert_eq!(Axis::covering(8.0, 1.0), Axis { max: 8.0, step: 1.0 });
    assert_eq!(Axis::covering(32.0, 1.0), Axis { max: 35.0, step: 5.0 });
    assert_eq!(Axis::covering(12.0, 1.0), Axis { max: 12.0, step: 2.0 });
    assert_eq!(Axis::covering(96.0, 1.0), Axis { max: 100.0, step: 20.0 });
    assert_eq!(Axis::covering(1.0, 1.0), Axis { max: 1.0, step: 1.0 });
    assert_eq!(Axis::covering(0.8, 0.0), Axis { max: 0.8, step: 0.1 });
    assert_eq!(Axis::covering(0.9, 0.0), Axis { max: 1.0, step: 0.2 });
    assert_eq!(Axis::covering(f64::NAN, 1.0), Axis { max: 1.0, step: 1.0 });
}

#[test]
fn tiny_times_are_shown_in_smaller_units() {
    assert_eq!(duration(12.345), "12.35 s");
    assert_eq!(duration(0.0042), "4.2 ms");
    assert_eq!(duration(0.0000031), "3.1 µs");
}
