//! What `den pull` and `den push` show on a terminal (a pty made by `script`, its final screen
//! read back through a terminal emulator): docker's per-layer lines drawn in place as live bars,
//! each ending at its last state, then `Digest:` and `Status:`; and plain lines without a terminal.
use den_tests::{den_bin, layout_with_layers, skopeo, Output, Registry, Sandbox};

const ROWS: u16 = 60;
const COLS: u16 = 160;

/// `den ARGS` on a pty of ROWS x COLS; its output as the terminal got it.
fn on_a_terminal(sb: &Sandbox, args: &str) -> Output {
    let command = format!(
        "stty rows {ROWS} cols {COLS}; exec {} --root {} {args}",
        den_bin().display(),
        sb.root().display()
    );
    sb.host(&format!("script -qfec '{command}' /dev/null < /dev/null"))
}

/// The screen after `raw`: its non-empty rows, trailing blanks cut.
fn screen(raw: &str) -> Vec<String> {
    let size = |n| std::num::NonZeroU16::new(n).expect("a size");
    let mut parser = vt100::Parser::new(size(ROWS), size(COLS), 0);
    parser.process(raw.as_bytes());
    parser
        .screen()
        .rows(0, COLS)
        .map(|l| l.trim_end().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn pull_and_push_on_a_terminal_draw_live_bars_that_end_at_each_layers_last_state() {
    let sb = Sandbox::new();
    let reg = Registry::http(&sb, 5000);
    // The fixture's layer and four of 3 MiB: one more than the 3 downloads at a time.
    let layout = sb.scratch().join("five");
    layout_with_layers(&layout, &[3 << 20, 3 << 20, 3 << 20, 3 << 20]);
    let name = format!("{}/five:v1", reg.addr);
    let copy = format!(
        "copy --dest-tls-verify=false oci:{}:latest docker://{name}",
        layout.display()
    );
    skopeo(&sb, &copy).ok();
    // Slow enough (40 Mbit/s) that bytes are seen moving.
    sb.host("tc qdisc add dev lo root tbf rate 40mbit burst 1mb latency 500ms")
        .ok();
    let out = on_a_terminal(&sb, &format!("pull {name}"));
    sb.host("tc qdisc del dev lo root").ok();
    let out = out.ok();
    let lines = screen(&out.stdout);
    let layers: Vec<&String> = lines
        .iter()
        .filter(|l| l.len() > 14 && l.as_bytes()[12] == b':')
        .collect();
    assert_eq!(layers.len(), 5, "{lines:#?}");
    assert!(
        layers.iter().all(|l| l.ends_with(": Pull complete")),
        "every layer's line ends at its last state: {lines:#?}"
    );
    assert_eq!(lines[0], "v1: Pulling from five", "{lines:#?}");
    let n = lines.len();
    assert!(lines[n - 3].starts_with("Digest: sha256:"), "{lines:#?}");
    assert_eq!(
        lines[n - 2],
        format!("Status: Downloaded newer image for {name}")
    );
    assert_eq!(lines[n - 1], name);
    // On the way the terminal was shown docker's states, a byte bar among them.
    let raw = &out.stdout;
    for state in [
        "Pulling fs layer",
        "Waiting",
        "Downloading [",
        "MB/3.1MB",
        "Extracting",
    ] {
        assert!(raw.contains(state), "no {state:?} was drawn: {raw:?}");
    }
    assert!(
        raw.contains("\x1b["),
        "no cursor movement: it was not drawn live"
    );

    // Without a terminal: one plain line per state, no bar, no escape.
    sb.den(&["rmi", &name]).ok();
    let plain = sb.den(&["pull", &name]).ok();
    assert!(
        !plain.stdout.contains('\x1b') && !plain.stdout.contains("Downloading"),
        "{plain}"
    );
    assert!(
        plain.stdout.contains(": Waiting\n") && plain.stdout.contains(": Pull complete\n"),
        "{plain}"
    );

    // Push on a terminal, of an image loaded here (its new layer is uploaded, slowly enough to
    // be seen moving): every layer ends at its last state.
    let fresh = sb.scratch().join("fresh");
    layout_with_layers(&fresh, &[3 << 20]);
    let pushed = format!("{}/fresh:v2", reg.addr);
    let arg = fresh.display().to_string();
    sb.den(&["image", "load", "--name", &pushed, &arg]).ok();
    sb.host("tc qdisc add dev lo root tbf rate 40mbit burst 1mb latency 500ms")
        .ok();
    let out = on_a_terminal(&sb, &format!("push {pushed}"));
    sb.host("tc qdisc del dev lo root").ok();
    let out = out.ok();
    let lines = screen(&out.stdout);
    assert_eq!(
        lines[0],
        format!("The push refers to repository [{}/fresh]", reg.addr)
    );
    let layers: Vec<&String> = lines
        .iter()
        .filter(|l| l.len() > 14 && l.as_bytes()[12] == b':')
        .collect();
    assert_eq!(layers.len(), 2, "{lines:#?}");
    assert!(layers[1].ends_with(": Pushed"), "{lines:#?}");
    let done = [": Pushed", ": Mounted from five", ": Layer already exists"];
    assert!(
        layers.iter().all(|l| done.iter().any(|d| l.ends_with(d))),
        "{lines:#?}"
    );
    assert!(out.stdout.contains("Pushing ["), "no byte bar was drawn");
    assert!(
        lines[lines.len() - 1].starts_with("v2: digest: sha256:"),
        "{lines:#?}"
    );
}
