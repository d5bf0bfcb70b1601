//! The JSON validates against docs/topology.schema.json; the SVG is XML, renders, and names
//! every container; DOT is one graph.

use den_tests::Sandbox;

use super::build;

#[test]
fn json_validates_against_its_schema_and_the_svg_renders_naming_every_container() {
    let sb = Sandbox::new();
    let (hand, _loner) = build(&sb);
    let dir = sb.scratch();
    let (j, svg, png) = (dir.join("t.json"), dir.join("t.svg"), dir.join("t.png"));
    let schema = den_tests::repo_root().join("docs/topology.schema.json");
    sb.den(&["topology", "--format", "json", "-o", j.to_str().unwrap()])
        .ok();
    let check = format!(
        "python3 -c 'import json, sys, jsonschema; \
         jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))' {} {}",
        j.display(),
        schema.display()
    );
    sb.host(&check).ok();

    sb.den(&["topology", "--format", "svg", "-o", svg.to_str().unwrap()])
        .ok();
    // Well-formed XML, every <text> collected.
    let texts = sb
        .host(&format!(
            "python3 -c 'import sys, xml.etree.ElementTree as E; \
             print(\"\\n\".join(t.text or \"\" for t in E.parse(sys.argv[1]).iter(\"{{http://www.w3.org/2000/svg}}text\")))' {}",
            svg.display()
        ))
        .ok()
        .stdout;
    for name in ["web", "db", "side", "hostnet", "quiet", "8080->80/tcp"] {
        assert!(
            texts.contains(name),
            "the SVG does not name {name}:\n{texts}"
        );
    }
    assert!(texts.contains(&format!("netns {}", hand.0)), "{texts}");
    sb.host(&format!(
        "rsvg-convert -o {} {}",
        png.display(),
        svg.display()
    ))
    .ok();
    let size = std::fs::metadata(&png).unwrap().len();
    assert!(size > 1000, "rsvg-convert made a {size}-byte PNG");

    let dot = sb.den(&["topology", "--format", "dot"]).ok().stdout;
    assert!(
        dot.starts_with("graph den {") && dot.trim_end().ends_with('}'),
        "{dot}"
    );
    assert!(dot.contains("den container web"), "{dot}");
}
