//! The Pushgateway push API, side by side with the real Pushgateway.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::collector::{Collector, request};

/// The real Pushgateway (Debian's `prometheus-pushgateway`) on a free port.
struct Pushgateway {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Pushgateway {
    fn start() -> Pushgateway {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // Debian's build persists to /var/lib by default: give each instance its own file,
        // or one run's groups would appear in the next.
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new("prometheus-pushgateway")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!(
                "--persistence.file={}",
                dir.path().join("pushgateway.data").display()
            ))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("prometheus-pushgateway is needed (Debian package; scripts/test installs it)");
        let stderr = child.stderr.take().unwrap();
        let (ready, wait) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("Listening on") {
                    let _ = ready.send(());
                }
            }
        });
        wait.recv_timeout(Duration::from_secs(30))
            .expect("pushgateway started");
        Pushgateway {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        }
    }
}

impl Drop for Pushgateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Pushed series only (not either side's own metrics), labels sorted; push times are
/// compared as set or unset because the clocks differ.
fn pushed_series(text: &str) -> BTreeMap<String, String> {
    let mut types = BTreeMap::new();
    let mut series = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            types.insert(name.to_owned(), kind.to_owned());
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (sample, value) = line.rsplit_once(' ').unwrap();
        let name = sample.split('{').next().unwrap();
        let own = [
            "go_",
            "process_",
            "pushgateway_",
            "promhttp_",
            "claude_code_",
            "claude_telemetry_",
        ];
        if own.iter().any(|prefix| name.starts_with(prefix)) {
            continue;
        }
        let mut labels: Vec<&str> = sample
            .split_once('{')
            .map(|(_, l)| {
                l.trim_end_matches('}')
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        labels.sort();
        let value: f64 = value.parse().unwrap();
        let shown = if name.starts_with("push_") {
            if value > 0.0 {
                "set".to_owned()
            } else {
                "0".to_owned()
            }
        } else {
            format!("{value}")
        };
        series.insert(format!("{name}{{{}}}", labels.join(",")), shown);
    }
    // The type of every pushed family, too.
    for (name, kind) in types {
        if series
            .keys()
            .any(|s| s.starts_with(&format!("{name}{{")) || s.starts_with(&format!("{name}_")))
        {
            series.insert(format!("# TYPE {name}"), kind);
        }
    }
    series
}

#[test]
fn pushes_give_the_same_series_as_the_real_pushgateway() {
    let pushgateway = Pushgateway::start();
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&dir.path().join("data"));
    let steps: Vec<(&str, &str, &str)> = vec![
        (
            "PUT",
            "/metrics/job/batch",
            "# HELP jobs_done_total Jobs done.\n# TYPE jobs_done_total counter\njobs_done_total{queue=\"a\"} 3\njobs_done_total{queue=\"b\"} 4\n# TYPE last_run gauge\nlast_run 17\n",
        ),
        (
            "POST",
            "/metrics/job/batch",
            "# TYPE last_run gauge\nlast_run 18\n",
        ),
        (
            "PUT",
            "/metrics/job/batch/instance/box1",
            "# TYPE jobs_done_total counter\njobs_done_total{queue=\"a\"} 1\n",
        ),
        (
            "POST",
            "/metrics/job/batch/instance/box1",
            "# TYPE temperature gauge\ntemperature{job=\"ignored\"} 21.5\n",
        ),
        (
            "PUT",
            "/metrics/job@base64/L3Zhci90bXA/path@base64/=",
            "loose 1\n",
        ),
        (
            "PUT",
            "/metrics/job/hist",
            "# TYPE latency histogram\nlatency_bucket{le=\"0.1\"} 2\nlatency_bucket{le=\"1\"} 5\nlatency_bucket{le=\"+Inf\"} 6\nlatency_sum 3.2\nlatency_count 6\n# TYPE rpc summary\nrpc{quantile=\"0.5\"} 0.2\nrpc_sum 10\nrpc_count 40\n",
        ),
        (
            "PUT",
            "/metrics/job/conflict",
            "# TYPE jobs_done_total gauge\njobs_done_total 1\n",
        ),
        ("PUT", "/metrics/job/stamped", "stamped 1 1700000000000\n"),
        ("PUT", "/metrics/job/dupes", "d{a=\"1\"} 1\nd{a=\"1\"} 2\n"),
        ("PUT", "/metrics/job/bad", "not valid\n"),
        ("PUT", "/metrics/job/odd/instance", "x 1\n"),
        ("PUT", "/metrics/job/badname/1x/y", "x 1\n"),
        (
            "PUT",
            "/metrics/job/owntime",
            "push_time_seconds 1\nreal 2\n",
        ),
        ("PUT", "/metrics/job/gone", "gone 1\n"),
        ("DELETE", "/metrics/job/gone", ""),
        (
            "PUT",
            "/metrics/job/batch",
            "# TYPE jobs_done_total counter\njobs_done_total{queue=\"a\"} 9\n",
        ),
    ];
    for (method, path, body) in &steps {
        let send = |base: &str| {
            let body = (*method != "DELETE").then_some(body.as_bytes());
            request(
                method,
                &format!("{base}{path}"),
                body,
                &[("content-type", "text/plain; version=0.0.4")],
            )
            .0
        };
        let (theirs, ours) = (send(&pushgateway.url), send(&collector.url));
        // The Pushgateway answers a successful push 200 (202 for DELETE) and refusals 400.
        assert_eq!(
            ours, theirs,
            "{method} {path}: collector {ours}, pushgateway {theirs}"
        );
    }
    let theirs =
        pushed_series(&request("GET", &format!("{}/metrics", pushgateway.url), None, &[]).1);
    let ours = pushed_series(&collector.metrics());
    assert!(theirs.len() > 20, "{theirs:#?}");
    eprintln!(
        "compared {} pushed series and types with the real Pushgateway",
        theirs.len()
    );
    for (series, value) in &theirs {
        assert_eq!(
            ours.get(series),
            Some(value),
            "{series}: pushgateway has {value}, collector {:?}",
            ours.get(series)
        );
    }
    for series in ours.keys() {
        assert!(theirs.contains_key(series), "collector has extra {series}");
    }

    // The API lists the same groups.
    let (status, body) = request(
        "GET",
        &format!("{}/api/v1/metrics", collector.url),
        None,
        &[],
    );
    assert_eq!(status, 200);
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    let (_, their_body) = request(
        "GET",
        &format!("{}/api/v1/metrics", pushgateway.url),
        None,
        &[],
    );
    let their_list: serde_json::Value = serde_json::from_str(&their_body).unwrap();
    assert_eq!(
        list["data"].as_array().unwrap().len(),
        their_list["data"].as_array().unwrap().len()
    );
}

#[test]
fn pushed_groups_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let collector = Collector::start(&data);
    let (status, _) = collector.post(
        "/metrics/job/nightly",
        "text/plain",
        b"# TYPE rows gauge\nrows 42\n",
    );
    assert_eq!(status, 200);
    collector.stop();
    let collector = Collector::start(&data);
    assert!(
        collector
            .metrics()
            .contains("rows{instance=\"\",job=\"nightly\"} 42\n")
    );
}

#[test]
fn protobuf_pushes_as_the_go_client_sends_them_match_the_real_pushgateway() {
    use collector::exposition::protobuf::{
        Bucket, Histogram, LabelPair, Metric, MetricFamily, Single,
    };
    use prost::Message;
    let pushgateway = Pushgateway::start();
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&dir.path().join("data"));
    let label = |name: &str, value: &str| LabelPair {
        name: Some(name.to_owned()),
        value: Some(value.to_owned()),
    };
    let families = [
        MetricFamily {
            name: Some("builds_total".to_owned()),
            help: Some("Builds.".to_owned()),
            r#type: Some(0),
            metric: vec![Metric {
                label: vec![label("branch", "main")],
                counter: Some(Single { value: Some(7.0) }),
                ..Metric::default()
            }],
        },
        MetricFamily {
            name: Some("build_seconds".to_owned()),
            help: None,
            r#type: Some(4),
            metric: vec![Metric {
                histogram: Some(Histogram {
                    sample_count: Some(3),
                    sample_sum: Some(42.0),
                    bucket: vec![
                        Bucket {
                            cumulative_count: Some(1),
                            upper_bound: Some(10.0),
                        },
                        Bucket {
                            cumulative_count: Some(3),
                            upper_bound: Some(60.0),
                        },
                    ],
                }),
                ..Metric::default()
            }],
        },
    ];
    let mut body = Vec::new();
    for family in &families {
        family.encode_length_delimited(&mut body).unwrap();
    }
    let content_type = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";
    for base in [&pushgateway.url, &collector.url] {
        let (status, text) = request(
            "PUT",
            &format!("{base}/metrics/job/ci/instance/runner1"),
            Some(&body),
            &[("content-type", content_type)],
        );
        assert_eq!(status, 200, "{base}: {text}");
        let (status, _) = request(
            "PUT",
            &format!("{base}/metrics/job/broken"),
            Some(b"\x05\x0a\xff"),
            &[("content-type", content_type)],
        );
        assert_eq!(status, 400, "{base}");
    }
    let theirs =
        pushed_series(&request("GET", &format!("{}/metrics", pushgateway.url), None, &[]).1);
    let ours = pushed_series(&collector.metrics());
    assert!(
        theirs.contains_key("builds_total{branch=\"main\",instance=\"runner1\",job=\"ci\"}"),
        "{theirs:#?}"
    );
    assert_eq!(ours, theirs);
}

/// Pushes that would break the exposition for Prometheus (or silently overwrite another
/// group) are refused as the real Pushgateway refuses them, and what both keep is the
/// same; `promtool` then finds nothing wrong with the collector's `/metrics`.
#[test]
fn hostile_pushes_are_refused_as_the_real_pushgateway_refuses_them() {
    let pushgateway = Pushgateway::start();
    let dir = tempfile::tempdir().unwrap();
    let collector = Collector::start(&dir.path().join("data"));
    let text = "text/plain; version=0.0.4";
    let steps: Vec<(&str, &str, &str, &str)> = vec![
        ("PUT", "/metrics/job/a", text, "m{__name__=\"x\"} 1\n"),
        ("PUT", "/metrics/job/a", text, "m{__reserved=\"x\"} 1\n"),
        ("PUT", "/metrics/job/a", text, "m{a=\"1\",a=\"2\"} 1\n"),
        (
            "PUT",
            "/metrics/job/h",
            text,
            "# TYPE h histogram\nh_bucket{le=\"abc\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
        ),
        (
            "PUT",
            "/metrics/job/s",
            text,
            "# TYPE s summary\ns{quantile=\"half\"} 1\ns_sum 1\ns_count 1\n",
        ),
        // Only a histogram's `le` is a bound: elsewhere it is a label like any other.
        ("PUT", "/metrics/job/l", text, "m{le=\"abc\"} 1\n"),
        ("PUT", "/metrics/job/b", text, "c{instance=\"i\"} 1\n"),
        ("PUT", "/metrics/job/b/instance/i", text, "c 2\n"),
        (
            "PUT",
            "/metrics/job/hist",
            text,
            "# TYPE lat histogram\nlat_bucket{le=\"1\"} 1\nlat_bucket{le=\"+Inf\"} 2\nlat_sum 3\nlat_count 2\n",
        ),
        (
            "PUT",
            "/metrics/job/count",
            text,
            "# TYPE lat_count gauge\nlat_count 1\n",
        ),
        ("PUT", "/metrics/job/dup", text, "x 1\ny 2\nx 3\n"),
        // The formats a Pushgateway client may send, as the Pushgateway takes them.
        (
            "POST",
            "/metrics/job/form",
            "application/x-www-form-urlencoded",
            "f 1\n",
        ),
        ("POST", "/metrics/job/plain", "text/plain", "p 1\n"),
    ];
    for (method, path, content_type, body) in &steps {
        let send = |base: &str| {
            request(
                method,
                &format!("{base}{path}"),
                Some(body.as_bytes()),
                &[("content-type", content_type)],
            )
        };
        let (theirs, their_message) = send(&pushgateway.url);
        let (ours, our_message) = send(&collector.url);
        assert_eq!(
            ours, theirs,
            "{method} {path} {body:?}: collector {ours} {our_message:?}, pushgateway {theirs} {their_message:?}"
        );
    }
    let theirs =
        pushed_series(&request("GET", &format!("{}/metrics", pushgateway.url), None, &[]).1);
    let text = collector.metrics();
    let ours = pushed_series(&text);
    assert_eq!(ours, theirs);
    assert_eq!(
        ours.get("c{instance=\"i\",job=\"b\"}").map(String::as_str),
        Some("1"),
        "the first group's series is not overwritten"
    );
    let file = dir.path().join("metrics.txt");
    std::fs::write(&file, &text).unwrap();
    let output = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&file).unwrap())
        .output()
        .expect("promtool is needed (Debian package `prometheus`; scripts/test installs it)");
    // Pushed families carry no HELP (as pushed): that lint is all there may be.
    let complaints = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        complaints
            .lines()
            .all(|line| line.ends_with("no help text")),
        "promtool: {complaints}"
    );
}
