#[path = "support/mod.rs"]
mod support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shot() {
    let app = support::TestApp::spawn(liaison_db::Backend::Sqlite)
        .await
        .unwrap();
    for (name, path, size) in [(
        "print_a5_phone",
        "/deputies/JJ-D1/poster?size=a5",
        "400,900",
    )] {
        let url = app.url(path);
        let out = format!("/tmp/{name}.png");
        let status = tokio::process::Command::new("chromium")
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                &format!("--window-size={size}"),
                &format!("--screenshot={out}"),
                &url,
            ])
            .status()
            .await
            .unwrap();
        assert!(status.success());
    }
    let pdf = tokio::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            "--print-to-pdf=/tmp/print_a4.pdf",
            &app.url("/stations/JJ-HM/poster"),
        ])
        .status()
        .await
        .unwrap();
    assert!(pdf.success());
    let c = app.login("county.jj").await;
    let html = c
        .get(app.url("/work/posters"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    std::fs::write("/tmp/batch.html", html).unwrap();
}
