//! Headless Chromium for the suites' page checks (the dashboard, /docs): a screenshot's pixels.

use std::time::Duration;

/// Debian's Chromium, when installed (`scripts/setup.sh` installs it; `CHROMIUM` names another).
pub fn chromium() -> Option<std::path::PathBuf> {
    std::env::var_os("CHROMIUM")
        .map(std::path::PathBuf::from)
        .or_else(|| Some("/usr/bin/chromium".into()))
        .filter(|p| p.exists())
}

/// Opens `url` in headless Chromium in a window of `size` (`"412,1800"`: a phone's width) and
/// returns the screenshot's RGBA pixels and width.
pub async fn screenshot(
    chromium: &std::path::Path,
    url: &str,
    out: &std::path::Path,
    size: &str,
) -> (Vec<u8>, u32) {
    // A profile of its own per screenshot: two tests may run Chromium at once.
    let profile = std::env::temp_dir().join(format!(
        "edge-chromium-{}-{}",
        std::process::id(),
        out.file_stem().and_then(|s| s.to_str()).unwrap_or("page")
    ));
    let run = tokio::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--window-size={size}"))
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", out.display()))
        .arg(url)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(90), run)
        .await
        .expect("chromium takes the screenshot within 90 s")
        .expect("chromium starts");
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        out.exists(),
        "chromium wrote no screenshot: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(out).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).unwrap();
    pixels.truncate(info.buffer_size());
    let rgba: Vec<u8> = match info.color_type {
        png::ColorType::Rgba => pixels,
        png::ColorType::Rgb => pixels
            .chunks(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        other => panic!("unexpected screenshot colour type {other:?}"),
    };
    (rgba, info.width)
}

/// Pixels of `hex` colour (±8 per channel).
pub fn pixels_of(rgba: &[u8], hex: &str) -> usize {
    let c = |i: usize| i32::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap());
    let (r, g, b) = (c(1), c(3), c(5));
    rgba.chunks(4)
        .filter(|p| {
            (i32::from(p[0]) - r).abs() <= 8
                && (i32::from(p[1]) - g).abs() <= 8
                && (i32::from(p[2]) - b).abs() <= 8
        })
        .count()
}
