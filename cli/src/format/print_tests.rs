//! What Go's text/template prints for lists, maps, numbers, nil and structs, and the order of a
//! `range` over a map: the expected strings are Go's (`fmt`'s `%v`, text/template's printValue).

use serde_json::json;

use super::goprint::go_float;
use super::Template;

fn render(t: &str, v: serde_json::Value) -> String {
    Template::new(t).unwrap().render(&v).unwrap()
}

#[test]
fn a_list_prints_as_go_prints_a_slice() {
    let v = json!({"Config": {"Env": ["A=1", "B=2"], "Cmd": ["sh", "-c", "echo hi"], "None": []}});
    assert_eq!(render("{{.Config.Env}}", v.clone()), "[A=1 B=2]");
    assert_eq!(render("{{.Config.Cmd}}", v.clone()), "[sh -c echo hi]");
    assert_eq!(render("{{.Config.None}}", v.clone()), "[]");
    assert_eq!(render("{{split \"a,b\" \",\"}}", v), "[a b]");
}

#[test]
fn a_map_prints_with_its_keys_sorted() {
    let v = json!({"Config": {"Labels": {"zeta": "1", "alpha": "2", "mid": "3"}},
                   "Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}], "443/tcp": null}});
    assert_eq!(
        render("{{.Config.Labels}}", v.clone()),
        "map[alpha:2 mid:3 zeta:1]"
    );
    assert_eq!(
        render("{{.Ports}}", v),
        "map[443/tcp:<nil> 80/tcp:[{0.0.0.0 8080}]]"
    );
}

#[test]
fn range_over_a_map_goes_in_sorted_key_order() {
    let labels: serde_json::Map<String, serde_json::Value> =
        (0..40).map(|i| (format!("k{i:02}"), json!(i))).collect();
    let v = json!({ "Labels": labels });
    let want: String = (0..40).map(|i| format!("k{i:02}={i};")).collect();
    assert_eq!(
        render(
            "{{range $k, $v := .Labels}}{{$k}}={{$v}};{{end}}",
            v.clone()
        ),
        want
    );
    let values: String = (0..40).map(|i| format!("{i},")).collect();
    assert_eq!(render("{{range .Labels}}{{.}},{{end}}", v.clone()), values);
    assert_eq!(
        render("{{range $v := .Labels}}{{$v}},{{end}}", v.clone()),
        values
    );
    // Two ranges, one inside the other, each with its own key.
    let n = json!({"Nets": {"b": {"x": 1, "y": 2}, "a": {"z": 3}}});
    assert_eq!(
        render(
            "{{range $n, $c := .Nets}}{{$n}}:{{range $k, $v := $c}}{{$k}}{{$v}}{{end}} {{end}}",
            n
        ),
        "a:z3 b:x1y2 "
    );
}

#[test]
fn range_over_a_list_binds_the_index_and_nil_or_empty_takes_else() {
    let v = json!({"L": ["a", "b"], "E": {}, "N": null});
    assert_eq!(
        render("{{range $i, $e := .L}}{{$i}}{{$e}} {{end}}", v.clone()),
        "0a 1b "
    );
    assert_eq!(
        render("{{range .E}}x{{else}}empty{{end}}", v.clone()),
        "empty"
    );
    assert_eq!(render("{{range .N}}x{{else}}nil{{end}}", v), "nil");
}

#[test]
fn numbers_print_as_go_prints_ints_and_floats() {
    let v = json!({"Port": 80, "Neg": -3, "Half": 0.5, "Whole": 3.0, "NegHalf": -0.5,
                   "Small": 0.00001, "Mid": 123456.0, "Frac": 2.71});
    assert_eq!(render("{{.Port}} {{.Neg}}", v.clone()), "80 -3");
    assert_eq!(
        render("{{.Half}} {{.Whole}} {{.Mid}}", v.clone()),
        "0.5 3 123456"
    );
    assert_eq!(
        render("{{.NegHalf}} {{.Small}} {{.Frac}}", v),
        "-0.5 1e-05 2.71"
    );
    // gtmpl stores a whole float as an int, so 1e6 as a value prints 1000000; Go's form:
    assert_eq!(go_float(1e6), "1e+06");
    assert_eq!(go_float(1234567.0), "1.234567e+06");
    assert_eq!(go_float(-0.0001), "-0.0001");
    assert_eq!(go_float(2.5e-7), "2.5e-07");
    assert_eq!(go_float(1e21), "1e+21");
    assert_eq!(go_float(f64::INFINITY), "+Inf");
}

#[test]
fn bools_nil_and_missing_keys() {
    let v = json!({"State": {"Running": true, "Paused": false}, "Health": null,
                   "List": [null, 1], "M": {"a": "b"}});
    assert_eq!(
        render("{{.State.Running}} {{.State.Paused}}", v.clone()),
        "true false"
    );
    assert_eq!(render("{{.Health}}", v.clone()), "<no value>");
    assert_eq!(render("{{.M.missing}}", v.clone()), "<no value>");
    assert_eq!(render("{{.List}}", v), "[<nil> 1]");
}

#[test]
fn a_struct_prints_its_fields_in_braces() {
    let v = json!({"State": {"ExitCode": 0, "Pid": 42, "Status": "running"}});
    assert_eq!(render("{{.State}}", v), "{0 42 running}");
}

#[test]
fn print_println_and_pad_are_go_s() {
    let v = json!({"L": ["a", "b"], "N": 1, "Empty": ""});
    assert_eq!(render("{{print .L .N \"x\" .N}}", v.clone()), "[a b] 1x1");
    assert_eq!(render("{{println .L \"x\" .N}}", v.clone()), "[a b] x 1\n");
    assert_eq!(render("[{{pad .Empty 2 2}}]", v.clone()), "[]");
    assert_eq!(
        render("{{printf \"%v|%s|%d\" .L .L .N}}", v),
        "[a b]|[a b]|1"
    );
}

#[test]
fn control_actions_declarations_trim_markers_and_strings_are_kept() {
    let v = json!({"A": "x", "L": ["p", "q"], "Config": {"Env": ["E=1"]}});
    assert_eq!(render("{{$a := .A}}<{{$a}}>", v.clone()), "<x>");
    assert_eq!(render("a  {{- .A -}}  b", v.clone()), "axb");
    assert_eq!(render("{{/* c }} */}}{{.A}}", v.clone()), "x");
    assert_eq!(render("{{- /* c */ -}} {{.A}}", v.clone()), "x");
    assert_eq!(render("{{\"}}\"}}{{`{{`}}", v.clone()), "}}{{");
    assert_eq!(
        render("{{with .Config}}{{.Env}}{{end}}", v.clone()),
        "[E=1]"
    );
    assert_eq!(
        render("{{if .L}}{{index .L 1}}{{else}}no{{end}}", v.clone()),
        "q"
    );
    assert_eq!(
        render("{{range $k, $v := .L -}}  {{$k}}{{end}}", v.clone()),
        "01"
    );
    assert_eq!(render("{{.L | json}}", v), r#"["p","q"]"#);
}

#[test]
fn docker_s_sets_print_their_empty_structs() {
    let v = json!({"Config": {"ExposedPorts": {"80/tcp": {}, "53/udp": {}}, "Labels": {}}});
    assert_eq!(
        render("{{.Config.ExposedPorts}}", v.clone()),
        "map[53/udp:{} 80/tcp:{}]"
    );
    assert_eq!(render("{{.Config.Labels}}", v), "map[]");
}
