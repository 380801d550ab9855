//! QR posters over HTTP: the public print pages and downloads, and the staff batch ZIP limited to
//! the caller's scope. Each test runs once per backend: `sqlite::<name>`, `postgres::<name>`.

#[path = "support/mod.rs"]
mod support;

use liaison_db::Backend;
use support::TestApp;

backend_tests!(
    a_station_poster_downloads_as_svg_with_its_name_and_short_link,
    a_deputy_poster_downloads_as_png,
    the_print_page_shows_the_poster_at_paper_size,
    unknown_posters_and_paper_sizes_are_refused,
    the_batch_zip_holds_the_region_in_scope_and_nothing_else,
    a_region_outside_the_scope_is_forbidden,
    station_staff_get_their_own_station,
    the_batch_download_requires_sign_in,
);

async fn spawn(b: Backend) -> Option<TestApp> {
    TestApp::spawn(b).await
}

fn header(resp: &reqwest::Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

async fn a_station_poster_downloads_as_svg_with_its_name_and_short_link(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let r = app
        .client()
        .get(app.url("/posters/stations/JJ-HM.svg?size=a4"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(header(&r, "content-type").starts_with("image/svg+xml"));
    let cd = header(&r, "content-disposition");
    assert!(cd.starts_with("attachment;"), "{cd}");
    assert!(cd.contains("filename*=UTF-8''JJ-HM-"), "{cd}");
    let svg = r.text().await.unwrap();
    assert!(svg.contains("海门街道人大代表联络站"));
    assert!(svg.contains(&format!("{}/s/JJ-HM", app.base)));
    assert!(svg.contains(r#"width="210mm""#));
    assert!(
        svg.contains("椒江区海门街道"),
        "subtitle from the region tree"
    );
    assert!(svg.contains("台州市人大常委会"), "issuer from the city");

    let a5 = app
        .client()
        .get(app.url("/posters/stations/JJ-HM.svg?size=a5"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(a5.contains(r#"width="148mm""#));
}

async fn a_deputy_poster_downloads_as_png(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let r = app
        .client()
        .get(app.url("/posters/deputies/JJ-D1.png?size=a5"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), "image/png");
    let png = r.bytes().await.unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
}

async fn the_print_page_shows_the_poster_at_paper_size(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let c = app.client();
    let html = c
        .get(app.url("/stations/JJ-HM/poster?size=a5"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(r#"src="/posters/stations/JJ-HM.svg?size=a5""#));
    assert!(html.contains("/assets/print.css"));
    assert!(html.contains("打印"));
    assert!(html.contains(r#"class="paper-a5""#));
    assert!(!html.contains("style="), "no inline styles under the CSP");
    let css = c.get(app.url("/assets/print.css")).send().await.unwrap();
    assert_eq!(css.status(), 200);
    assert!(css.text().await.unwrap().contains("@page"));

    let html = c
        .get(app.url("/deputies/JJ-D1/poster"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("张海门"));
    assert!(html.contains(r#"src="/posters/deputies/JJ-D1.svg?size=a4""#));
}

async fn unknown_posters_and_paper_sizes_are_refused(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let c = app.client();
    for path in [
        "/posters/stations/NOPE.svg",
        "/posters/stations/JJ-HM.pdf",
        "/posters/deputies/NOPE.png",
        "/stations/NOPE/poster",
    ] {
        let r = c.get(app.url(path)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
    let r = c
        .get(app.url("/posters/stations/JJ-HM.svg?size=b5"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("A4 或 A5"));
}

async fn the_batch_zip_holds_the_region_in_scope_and_nothing_else(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let c = app.login("county.jj").await;
    let form = c.get(app.url("/work/posters")).send().await.unwrap();
    assert_eq!(form.status(), 200);
    let form = form.text().await.unwrap();
    assert!(form.contains(r#"value="331002""#));
    assert!(
        !form.contains(r#"value="331003""#),
        "another county is not offered"
    );

    let r = c
        .get(app.url("/work/posters.zip?region=331002&size=a4"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), "application/zip");
    assert!(header(&r, "content-disposition").contains("attachment"));
    let zip = r.bytes().await.unwrap();
    assert_eq!(&zip[..4], b"PK\x03\x04");
    // Entry names are stored as UTF-8 text in the archive's headers.
    for name in [
        "JJ-HM-海门街道人大代表联络站.svg",
        "JJ-BY-白云街道人大代表联络站.svg",
        "JJ-D1-张海门代表.svg",
    ] {
        assert!(contains(&zip, name), "{name} in the ZIP");
    }
    assert!(!contains(&zip, "HY-DC"), "another county's station");
    assert!(!contains(&zip, "HY-D1"), "another county's deputy");
    assert!(!contains(&zip, ".png"), "no PNG unless asked");
}

async fn a_region_outside_the_scope_is_forbidden(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let c = app.login("county.hy").await;
    let r = c
        .get(app.url("/work/posters.zip?region=331002"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("不在您的工作范围内"));
    // A role without the organisation in its work cannot download batches at all.
    let r = app
        .login("unit.jjzj")
        .await
        .get(app.url("/work/posters.zip"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

async fn station_staff_get_their_own_station(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let c = app.login("station.hm").await;
    let r = c
        .get(app.url("/work/posters.zip?size=a5"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let zip = r.bytes().await.unwrap();
    assert!(contains(&zip, "JJ-HM-海门街道人大代表联络站.svg"));
    assert!(contains(&zip, "JJ-HM-01-"), "the station's liaison point");
    assert!(!contains(&zip, "JJ-BY"), "a neighbouring station");
    // Their township is a region holding their station; a neighbour's is not.
    let r = c
        .get(app.url("/work/posters.zip?region=331002001"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .get(app.url("/work/posters.zip?region=331002002"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

async fn the_batch_download_requires_sign_in(b: Backend) {
    let Some(app) = spawn(b).await else { return };
    let r = app
        .client()
        .get(app.url("/work/posters.zip?region=331002"))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_redirection());
    assert!(header(&r, "location").starts_with("/login?next="));
}
