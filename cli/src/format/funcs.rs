//! The functions docker adds to Go's templates (docker/cli `templates.basicFunctions`), and the
//! conversion between serde values and gtmpl's.

use std::collections::HashMap;

use gtmpl::{Func, FuncError, Value};
use serde_json::Value as Json;

use super::goprint;

pub const DOCKER: &[(&str, Func)] = &[
    ("json", json),
    ("join", join),
    ("split", split),
    ("upper", upper),
    ("lower", lower),
    ("title", title),
    ("truncate", truncate),
    ("pad", pad),
    // gtmpl's own `len` knows no maps.
    ("len", len),
    // gtmpl's own print in Rust's form; Go's prints `[a b]`, `map[k:v]`.
    ("print", goprint::print),
    ("println", goprint::println),
    ("printf", goprint::printf),
    (goprint::PRINT_ACTION, goprint::print_action),
    (goprint::RANGE_VALUES, goprint::range_values),
    (goprint::RANGE_KEYS, goprint::range_keys),
];

/// A JSON object whose keys all look like Go struct fields (`Id`, `NetworkSettings`) becomes an
/// object, where a missing field is an error as in Go; any other (labels, networks by name, ports
/// as `80/tcp`) a map, where a missing key prints `<no value>`. An empty object that is a map's
/// value is docker's `struct{}` (ExposedPorts, Volumes: `map[80/tcp:{}]`); elsewhere an empty map.
pub fn to_gtmpl(v: &Json) -> Value {
    convert(v, false)
}

fn convert(v: &Json, in_map: bool) -> Value {
    match v {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => Value::from(u),
            (_, Some(i), _) => Value::from(i),
            // gtmpl keeps a negative float's integer part only (its `From<f64>` checks
            // `fract() < EPSILON`): such a value is handed over as the text Go prints.
            (_, _, Some(f)) if f < 0.0 && f.fract() != 0.0 => Value::String(goprint::go_float(f)),
            (_, _, f) => Value::from(f.unwrap_or(0.0)),
        },
        Json::String(s) => Value::String(s.clone()),
        Json::Array(a) => Value::Array(a.iter().map(|v| convert(v, false)).collect()),
        Json::Object(o) if o.is_empty() => match in_map {
            true => Value::Object(HashMap::new()),
            false => Value::Map(HashMap::new()),
        },
        Json::Object(o) => {
            let is_struct = o.keys().all(|k| is_field_name(k));
            let m: HashMap<String, Value> = o
                .iter()
                .map(|(k, v)| (k.clone(), convert(v, !is_struct)))
                .collect();
            if is_struct {
                Value::Object(m)
            } else {
                Value::Map(m)
            }
        }
    }
}

fn is_field_name(k: &str) -> bool {
    k.starts_with(|c: char| c.is_ascii_uppercase()) && k.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Back to JSON for `{{json .X}}`; keys sorted (Go sorts a map's keys; den's field order is lost in
/// gtmpl's maps, so structs come out sorted too).
fn to_json(v: &Value) -> Json {
    match v {
        Value::NoValue | Value::Nil | Value::Function(_) => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::String(s) => Json::String(s.clone()),
        Value::Number(n) => n
            .as_u64()
            .map(Json::from)
            .or_else(|| n.as_i64().map(Json::from))
            .or_else(|| n.as_f64().map(Json::from))
            .unwrap_or(Json::Null),
        Value::Array(a) => Json::Array(a.iter().map(to_json).collect()),
        Value::Object(m) | Value::Map(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Json::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), to_json(&m[k])))
                    .collect(),
            )
        }
    }
}

fn arg<'a>(name: &str, args: &'a [Value], n: usize) -> Result<&'a [Value], FuncError> {
    if args.len() != n {
        return Err(FuncError::ExactlyXArgs(name.into(), n));
    }
    Ok(args)
}

fn string(v: &Value) -> Result<String, FuncError> {
    Ok(goprint::go_format(v))
}

fn int(v: &Value) -> Result<usize, FuncError> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .map(|u| u as usize)
            .ok_or(FuncError::UnableToConvertFromValue),
        _ => Err(FuncError::UnableToConvertFromValue),
    }
}

fn len(args: &[Value]) -> Result<Value, FuncError> {
    let n = match &arg("len", args, 1)?[0] {
        Value::String(s) => s.len(),
        Value::Array(a) => a.len(),
        Value::Object(m) | Value::Map(m) => m.len(),
        Value::Nil | Value::NoValue => 0,
        _ => return Err(FuncError::Generic("len of a value that has none".into())),
    };
    Ok(Value::from(n))
}

fn json(args: &[Value]) -> Result<Value, FuncError> {
    let a = arg("json", args, 1)?;
    Ok(Value::String(to_json(&a[0]).to_string()))
}

fn join(args: &[Value]) -> Result<Value, FuncError> {
    let a = arg("join", args, 2)?;
    let sep = string(&a[1])?;
    match &a[0] {
        Value::Array(items) => Ok(Value::String(
            items
                .iter()
                .map(string)
                .collect::<Result<Vec<_>, _>>()?
                .join(&sep),
        )),
        Value::Nil | Value::NoValue => Ok(Value::String(String::new())),
        _ => Err(FuncError::Generic(
            "join: the first argument is not a list".into(),
        )),
    }
}

fn split(args: &[Value]) -> Result<Value, FuncError> {
    let a = arg("split", args, 2)?;
    let (s, sep) = (string(&a[0])?, string(&a[1])?);
    Ok(Value::Array(
        s.split(sep.as_str()).map(Value::from).collect(),
    ))
}

fn upper(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(
        string(&arg("upper", args, 1)?[0])?.to_uppercase(),
    ))
}

fn lower(args: &[Value]) -> Result<Value, FuncError> {
    Ok(Value::String(
        string(&arg("lower", args, 1)?[0])?.to_lowercase(),
    ))
}

/// Go's `strings.Title`: the first letter of each word upper-cased.
fn title(args: &[Value]) -> Result<Value, FuncError> {
    let s = string(&arg("title", args, 1)?[0])?;
    let mut out = String::with_capacity(s.len());
    let mut start = true;
    for c in s.chars() {
        if start {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric();
    }
    Ok(Value::String(out))
}

/// `truncate S N`: at most the first N characters.
fn truncate(args: &[Value]) -> Result<Value, FuncError> {
    let a = arg("truncate", args, 2)?;
    let n = int(&a[1])?;
    Ok(Value::String(string(&a[0])?.chars().take(n).collect()))
}

/// `pad S PREFIX SUFFIX`: S with that many spaces before and after; an empty S stays empty.
fn pad(args: &[Value]) -> Result<Value, FuncError> {
    let a = arg("pad", args, 3)?;
    let (s, before, after) = (string(&a[0])?, int(&a[1])?, int(&a[2])?);
    if s.is_empty() {
        return Ok(Value::String(s));
    }
    Ok(Value::String(format!(
        "{}{s}{}",
        " ".repeat(before),
        " ".repeat(after)
    )))
}
