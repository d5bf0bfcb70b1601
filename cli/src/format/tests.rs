use serde_json::json;

use super::{list, objects, Format, Template};

fn render(t: &str, v: serde_json::Value) -> String {
    Template::new(t).unwrap().render(&v).unwrap()
}

#[test]
fn fields_nested_index_range_and_docker_functions() {
    let v = json!({"Name": "/web", "Config": {"Env": ["A=1", "B=2"], "Labels": {"com.x": "y"}},
                   "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "172.17.0.2"}}}});
    assert_eq!(render("{{.Name}}", v.clone()), "/web");
    assert_eq!(render("{{join .Config.Env \",\"}}", v.clone()), "A=1,B=2");
    assert_eq!(render("{{index .Config.Labels \"com.x\"}}", v.clone()), "y");
    assert_eq!(
        render(
            "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
            v.clone()
        ),
        "172.17.0.2"
    );
    assert_eq!(
        render(
            "{{range $k, $v := .Config.Labels}}{{$k}}={{$v}}{{end}}",
            v.clone()
        ),
        "com.x=y"
    );
    assert_eq!(render("{{upper .Name}}", v.clone()), "/WEB");
    assert_eq!(
        render("{{json .Config.Labels}}", v.clone()),
        r#"{"com.x":"y"}"#
    );
    assert_eq!(
        render("{{truncate .Name 2}}|{{pad \"a\" 1 2}}", v.clone()),
        "/w| a  "
    );
    assert_eq!(
        render("{{title \"up and down\"}}", v.clone()),
        "Up And Down"
    );
    assert_eq!(render("{{len .Config.Env}}", v.clone()), "2");
    assert_eq!(render("{{len .Config.Labels}}", v), "1");
}

#[test]
fn a_missing_struct_field_is_an_error_and_a_missing_map_key_is_no_value() {
    let v = json!({"Config": {"Labels": {"a": "b"}}});
    assert!(Template::new("{{.Nope}}").unwrap().render(&v).is_err());
    assert_eq!(render("{{.Config.Labels.zz}}", v), "<no value>");
}

#[test]
fn a_table_has_docker_tabwriter_columns_and_a_header_row() {
    let header = json!({"ID": "CONTAINER ID", "Names": "NAMES", "Image": "IMAGE"});
    let rows = [
        json!({"ID": "0123456789ab", "Names": "web", "Image": "alpine"}),
        json!({"ID": "ba9876543210", "Names": "db", "Image": "den-fixture:latest"}),
    ];
    let f = Format::parse(Some("table {{.ID}}\\t{{.Image}}\\t{{.Names}}"), "");
    let out = list(&f, &header, &rows).unwrap();
    assert_eq!(
        out,
        "CONTAINER ID   IMAGE                NAMES\n\
         0123456789ab   alpine               web\n\
         ba9876543210   den-fixture:latest   db\n"
    );
    let raw = list(&Format::parse(Some("{{.Names}}"), ""), &header, &rows).unwrap();
    assert_eq!(raw, "web\ndb\n");
    let json = list(&Format::parse(Some("json"), ""), &header, &rows[..1]).unwrap();
    assert_eq!(json.lines().count(), 1);
    assert!(json.contains("\"Names\":\"web\""));
}

#[test]
fn short_columns_are_ten_wide() {
    let f = Format::parse(None, "{{.A}}\t{{.B}}");
    let out = list(
        &f,
        &json!({"A": "A", "B": "B"}),
        &[json!({"A": "x", "B": "y"})],
    )
    .unwrap();
    assert_eq!(out, "A         B\nx         y\n");
}

#[test]
fn inspect_prints_an_array_or_one_rendering_per_object() {
    let items = [json!({"Id": "a"}), json!({"Id": "b"})];
    assert!(objects(None, &items).unwrap().starts_with("[\n"));
    assert_eq!(objects(Some("{{.Id}}"), &items).unwrap(), "a\nb\n");
    assert_eq!(
        objects(Some("json"), &items[..1]).unwrap(),
        "{\"Id\":\"a\"}\n"
    );
}

#[test]
fn a_bad_template_is_a_parse_error() {
    assert!(Template::new("{{.Id").is_err());
}

#[test]
fn docker_docs_inspect_examples() {
    let v = json!({"NetworkSettings": {
        "Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]},
        "Networks": {"bridge": {"IPAddress": "172.17.0.2"}}}});
    assert_eq!(
        render(
            "{{range $p, $conf := .NetworkSettings.Ports}} {{$p}} -> {{(index $conf 0).HostPort}} {{end}}",
            v.clone()
        ),
        " 80/tcp -> 8080 "
    );
    assert_eq!(
        render("{{json .NetworkSettings.Ports}}", v.clone()),
        r#"{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"}]}"#
    );
    assert_eq!(
        render("{{.NetworkSettings.Networks.bridge.IPAddress}}", v.clone()),
        "172.17.0.2"
    );
    assert_eq!(
        render("{{if .NetworkSettings.Ports}}yes{{else}}no{{end}}", v),
        "yes"
    );
}
