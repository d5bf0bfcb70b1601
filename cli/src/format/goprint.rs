//! Go's `fmt` default format (`%v`) for template values, which gtmpl does not do: it prints a list
//! or a map in Rust's debug form (`[String("a")]`). Go prints a list as `[a b]`, a map as
//! `map[k:v k2:v2]` with its keys sorted, a struct as `{v1 v2}`, an int as `80`, a float in `%g`'s
//! shortest form (`0.5`, `1e+06`), nil inside a list or map as `<nil>`, and a missing value or nil
//! printed by an action as `<no value>`. The template rewrite (`rewrite.rs`) sends every printed
//! value through [`print_action`], and `range` over a map through [`range_values`] /
//! [`range_keys`] so that it goes in sorted key order as Go's does.

use gtmpl::{FuncError, Value};

/// The names the rewritten templates call.
pub const PRINT_ACTION: &str = "denPrintAction";
pub const RANGE_VALUES: &str = "denRangeValues";
pub const RANGE_KEYS: &str = "denRangeKeys";

/// What an action `{{PIPELINE}}` prints: text/template's `printValue`.
pub fn print_action(args: &[Value]) -> Result<Value, FuncError> {
    let [v] = args else {
        return Err(FuncError::ExactlyXArgs(PRINT_ACTION.into(), 1));
    };
    Ok(Value::String(match v {
        Value::NoValue | Value::Nil => "<no value>".to_string(),
        other => go_format(other),
    }))
}

/// Go's `print` (`fmt.Sprint`): a space between two operands when neither is a string.
pub fn print(args: &[Value]) -> Result<Value, FuncError> {
    let mut out = String::new();
    for (i, v) in args.iter().enumerate() {
        let is_str = |v: &Value| matches!(v, Value::String(_));
        if i > 0 && !is_str(v) && !is_str(&args[i - 1]) {
            out.push(' ');
        }
        out.push_str(&go_format(v));
    }
    Ok(Value::String(out))
}

/// Go's `println` (`fmt.Sprintln`): operands always spaced, then a newline.
pub fn println(args: &[Value]) -> Result<Value, FuncError> {
    let words: Vec<String> = args.iter().map(go_format).collect();
    Ok(Value::String(words.join(" ") + "\n"))
}

/// Go's `printf`: gtmpl's, with a list, map or struct operand handed over as Go prints it (so
/// `%v` and `%s` of one read `[a b]`, not Rust's form).
pub fn printf(args: &[Value]) -> Result<Value, FuncError> {
    let args: Vec<Value> = args
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::Array(_) | Value::Map(_) | Value::Object(_) if i > 0 => {
                Value::String(go_format(v))
            }
            Value::NoValue | Value::Nil if i > 0 => Value::String("<nil>".into()),
            other => other.clone(),
        })
        .collect();
    gtmpl::funcs::printf(&args)
}

/// The values `range` visits: a list's in order, a map's in sorted key order, none for nil.
pub fn range_values(args: &[Value]) -> Result<Value, FuncError> {
    range_items(args, RANGE_VALUES, |_, v| v.clone())
}

/// The keys `range $k, $v :=` binds: a list's indices, a map's keys sorted.
pub fn range_keys(args: &[Value]) -> Result<Value, FuncError> {
    range_items(args, RANGE_KEYS, |k, _| k)
}

fn range_items(
    args: &[Value],
    name: &str,
    pick: impl Fn(Value, &Value) -> Value,
) -> Result<Value, FuncError> {
    let [v] = args else {
        return Err(FuncError::ExactlyXArgs(name.into(), 1));
    };
    Ok(Value::Array(match v {
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, v)| pick(Value::from(i as u64), v))
            .collect(),
        Value::Object(m) | Value::Map(m) => sorted(m)
            .into_iter()
            .map(|(k, v)| pick(Value::String(k.clone()), v))
            .collect(),
        Value::Nil | Value::NoValue => Vec::new(),
        other => {
            return Err(FuncError::Generic(format!(
                "range can't iterate over {}",
                go_format(other)
            )))
        }
    }))
}

fn sorted(m: &std::collections::HashMap<String, Value>) -> Vec<(&String, &Value)> {
    let mut items: Vec<_> = m.iter().collect();
    items.sort_by(|a, b| a.0.cmp(b.0));
    items
}

/// `fmt.Sprint(v)` for one value. A JSON object den hands over as a struct (`Value::Object`:
/// docker's field names) prints as Go prints a struct, its fields in den's (sorted) key order; any
/// other object as a Go map.
pub fn go_format(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v);
    out
}

fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::NoValue => out.push_str("<no value>"),
        Value::Nil => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::String(s) => out.push_str(s),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => out.push_str(&u.to_string()),
            (_, Some(i)) => out.push_str(&i.to_string()),
            _ => out.push_str(&go_float(n.as_f64().unwrap_or(f64::NAN))),
        },
        Value::Function(_) => out.push_str("<func>"),
        Value::Array(a) => {
            out.push('[');
            for (i, item) in a.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            for (i, (k, item)) in sorted(m).into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (_, item)) in sorted(m).into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

/// Go's `%v` of a float64: `strconv.FormatFloat(f, 'g', -1, 64)` — the shortest digits that read
/// back the same, in `%e` form (`1e+06`, `1.5e-07`) when the exponent is below -4 or at least 6
/// (Go's threshold for the shortest precision), else plain (`0.5`, `123456`).
pub fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // Rust's `{:e}` gives the same shortest digits: "-1.234e6".
    let e_form = format!("{:e}", f);
    let (mantissa, exp) = e_form.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("{:e}'s exponent is a number");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{dot}{rest}e{esign}{:02}", exp.abs());
    }
    if exp < 0 {
        let zeros = "0".repeat((-exp - 1) as usize);
        return format!("{sign}0.{zeros}{digits}");
    }
    let int_len = exp as usize + 1;
    if digits.len() <= int_len {
        format!("{sign}{digits}{}", "0".repeat(int_len - digits.len()))
    } else {
        format!("{sign}{}.{}", &digits[..int_len], &digits[int_len..])
    }
}
