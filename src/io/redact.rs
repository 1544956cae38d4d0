//! Camera credentials never shown: every URL's password (`rtsp://admin:s3cret@cam/…`), a user name
//! standing alone (`rtsp://TOKEN@cam`, often a token), an RTMP stream key (`rtmp://host/app/KEY`, as
//! OBS takes it) and secret query or fragment parameters (`?password=…`, SRT's `passphrase=…`,
//! signed URLs' `X-Amz-Signature=…`, `#token=…`) are replaced by `***` wherever text leaves posecam
//! (logs, messages, the window, saved settings). `${NAME}` placeholders (a password taken from the
//! environment) are not secrets and stay.

use std::borrow::Cow;

/// Query parameters whose values are secrets (compared without case).
const SECRET_PARAMS: &[&str] = &[
    "password",
    "passwd",
    "pass",
    "pwd",
    "token",
    "access_token",
    "auth",
    "authorization",
    "key",
    "apikey",
    "api_key",
    "secret",
    "signature",
    "sig",
    "credentials",
    "credential",
    "passphrase",
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
    "x-goog-signature",
    "x-goog-credential",
    "client_secret",
    "refresh_token",
    "id_token",
    "session_token",
    "jwt",
];

/// Schemes whose path after the application name is a stream key (a secret, as OBS treats it).
const STREAM_KEY_SCHEMES: &[&str] = &["rtmp", "rtmps", "rtmpe", "rtmpt", "rtmpts"];

pub const MASK: &str = "***";

/// `text` with every credential in it masked.
pub fn redact(text: &str) -> Cow<'_, str> {
    if !text.contains("://") && !text.contains('=') {
        return Cow::Borrowed(text);
    }
    let masked = mask_query_secrets(&mask_stream_keys(&mask_userinfo(text)));
    if masked == text {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(masked)
    }
}

/// `scheme://user:password@host` → `scheme://user:***@host`, for every URL in `text`.
fn mask_userinfo(text: &str) -> String {
    // The authority ends at the first '/', '?', '#' or white space.
    let authority_end = |after: &str| {
        after
            .find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace())
            .unwrap_or(after.len())
    };
    map_urls(text, authority_end, |_, authority| {
        let Some(at) = authority.rfind('@') else {
            return authority.to_string();
        };
        let userinfo = &authority[..at];
        let masked = match userinfo.split_once(':') {
            Some((user, password)) if !is_placeholder(password) => format!("{user}:{MASK}"),
            // A user name alone is often the whole credential (a token).
            None if !userinfo.is_empty() && !is_placeholder(userinfo) => MASK.to_string(),
            _ => userinfo.to_string(),
        };
        format!("{masked}{}", &authority[at..])
    })
}

/// `text` with what follows each `scheme://`, up to `end` of it, replaced by `mask(scheme, part)`.
fn map_urls(
    text: &str,
    end: impl Fn(&str) -> usize,
    mask: impl Fn(&str, &str) -> String,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let scheme_start = rest[..at]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.'))
            .map_or(0, |i| i + 1);
        let scheme = rest[scheme_start..at].to_ascii_lowercase();
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        let end = end(after);
        out.push_str(&mask(&scheme, &after[..end]));
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// `rtmp://host/app/KEY` → `rtmp://host/app/***`: everything after the application name.
fn mask_stream_keys(text: &str) -> String {
    map_urls(text, url_end, |scheme, url| {
        if STREAM_KEY_SCHEMES.contains(&scheme) {
            without_stream_key(url)
        } else {
            url.to_string()
        }
    })
}

/// Where the URL starting `text` ends: white space or a quote, and punctuation that closes a
/// sentence rather than the URL (`…/KEY: cannot open`).
fn url_end(text: &str) -> usize {
    let end = text
        .find(|c: char| c.is_whitespace() || c == '"' || c == '\'')
        .unwrap_or(text.len());
    text[..end]
        .trim_end_matches([':', ',', '.', ';', ')', ']'])
        .len()
}

/// `host/app/KEY?query` → `host/app/***?query` (the query is masked apart).
fn without_stream_key(url: &str) -> String {
    let path_end = url.find(['?', '#']).unwrap_or(url.len());
    let (path, tail) = url.split_at(path_end);
    let mut parts = path.splitn(3, '/');
    let (Some(host), Some(app), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return url.to_string();
    };
    if key.is_empty() || is_placeholder(key) {
        return url.to_string();
    }
    format!("{host}/{app}/{MASK}{tail}")
}

/// `${NAME}`: a password read from the environment when the URL is opened.
fn is_placeholder(text: &str) -> bool {
    text.starts_with("${") && text.ends_with('}') && !text[2..text.len() - 1].contains(['$', '{'])
}

/// `password=s3cret` → `password=***` where `password` is a secret parameter (after `?`, `&` or `;`).
fn mask_query_secrets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < text.len() {
        let start_of_param = i == 0 || matches!(bytes[i - 1], b'?' | b'&' | b';' | b'#');
        if start_of_param {
            if let Some(len) = secret_name_len(&text[i..]) {
                out.push_str(&text[i..i + len + 1]);
                i += len + 1;
                let end = text[i..]
                    .find(|c: char| c == '&' || c == '#' || c == ';' || c.is_whitespace())
                    .map_or(text.len(), |e| i + e);
                // Punctuation that ends the sentence, not the value (`…?sig=abc: cannot open`).
                let end = i + text[i..end]
                    .trim_end_matches([':', ',', ')', ']', '\'', '"'])
                    .len();
                if end > i && !is_placeholder(&text[i..end]) {
                    out.push_str(MASK);
                } else {
                    out.push_str(&text[i..end]);
                }
                i = end;
                continue;
            }
        }
        let c = text[i..].chars().next().unwrap_or(' ');
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// The length of a secret parameter's name at the start of `text`, when `=` follows it.
fn secret_name_len(text: &str) -> Option<usize> {
    let eq = text.find('=')?;
    let name = &text[..eq];
    SECRET_PARAMS
        .iter()
        .any(|s| s.eq_ignore_ascii_case(name))
        .then_some(eq)
}

/// A `${NAME}` in a URL whose variable is not set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not set in the environment")]
pub struct MissingVariable(pub String);

/// `${NAME}` in `url` replaced by the variable's value, so passwords can stay out of command lines,
/// settings and scripts (as Frigate and go2rtc take them). The name of a variable that is not set is
/// the error.
pub fn expand_env(
    url: &str,
    var: impl Fn(&str) -> Option<String>,
) -> Result<String, MissingVariable> {
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start + 2..].find('}') else {
            break;
        };
        let name = &rest[start + 2..start + 2 + len];
        out.push_str(&rest[..start]);
        match var(name) {
            Some(value) => out.push_str(&percent_encode_userinfo(&value)),
            None => return Err(MissingVariable(name.to_string())),
        }
        rest = &rest[start + 3 + len..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The names of the `${NAME}` placeholders in `url`.
pub fn variables(url: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = url;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start + 2..].find('}') else {
            break;
        };
        names.push(rest[start + 2..start + 2 + len].to_string());
        rest = &rest[start + 3 + len..];
    }
    names
}

/// A value put into a URL's user info: characters that would end it are escaped.
fn percent_encode_userinfo(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A URL without its password (the window remembers streams this way).
pub fn without_password(url: &str) -> String {
    redact(url)
        .replace(&format!(":{MASK}@"), "@")
        .replace(&format!("://{MASK}@"), "://")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_masked_wherever_they_are() {
        assert_eq!(
            redact("error: rtsp://admin:s3cret@127.0.0.1:8554/stream1: cannot open"),
            "error: rtsp://admin:***@127.0.0.1:8554/stream1: cannot open"
        );
        assert_eq!(
            redact("rtsp://a:b@x/1 and http://c:d@y:80"),
            "rtsp://a:***@x/1 and http://c:***@y:80"
        );
        // A password with '@' or ':' in it is masked whole.
        assert_eq!(redact("rtsp://u:p@ss:w@cam/x"), "rtsp://u:***@cam/x");
        assert_eq!(redact("rtsp://TOKEN@cam/x"), "rtsp://***@cam/x");
        assert_eq!(redact("rtsp://${TOKEN}@cam/x"), "rtsp://${TOKEN}@cam/x");
        assert_eq!(redact("rtsp://cam/x"), "rtsp://cam/x");
        assert_eq!(redact("no url here"), "no url here");
    }

    #[test]
    fn secret_query_parameters_are_masked() {
        assert_eq!(
            redact("http://cam/video.cgi?user=admin&password=s3cret&res=hd"),
            "http://cam/video.cgi?user=admin&password=***&res=hd"
        );
        assert_eq!(
            redact("https://x/y?TOKEN=abc#frag"),
            "https://x/y?TOKEN=***#frag"
        );
        assert_eq!(redact("frames=12 keyframe=3"), "frames=12 keyframe=3");
        assert_eq!(
            redact("error: http://c/v?sig=abc: cannot open"),
            "error: http://c/v?sig=***: cannot open"
        );
        assert_eq!(
            redact("srt://cam:9000?mode=caller&passphrase=longsecret1&latency=200"),
            "srt://cam:9000?mode=caller&passphrase=***&latency=200"
        );
        let signed = "https://b.s3.amazonaws.com/v.mp4?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20260101&X-Amz-Signature=abc123&X-Amz-Expires=60";
        let masked = redact(signed);
        assert!(
            !masked.contains("AKIA") && !masked.contains("abc123"),
            "{masked}"
        );
        assert!(masked.contains("X-Amz-Expires=60"), "{masked}");
        assert_eq!(
            redact("https://cdn/x.m3u8?Expires=1&Signature=zz&Key-Pair-Id=K"),
            "https://cdn/x.m3u8?Expires=1&Signature=***&Key-Pair-Id=K"
        );
        assert_eq!(
            redact("https://acct.blob/v.mp4?sv=2024&sig=s3cr3t"),
            "https://acct.blob/v.mp4?sv=2024&sig=***"
        );
        assert_eq!(
            redact("http://cam/live#token=abc&x=1"),
            "http://cam/live#token=***&x=1"
        );
    }

    #[test]
    fn rtmp_stream_keys_are_masked() {
        assert_eq!(
            redact("error: rtmp://live.example:1935/app/sk_live_123: cannot open"),
            "error: rtmp://live.example:1935/app/***: cannot open"
        );
        assert_eq!(
            redact("rtmps://h/live2/a/b?x=1 next"),
            "rtmps://h/live2/***?x=1 next"
        );
        assert_eq!(redact("rtmp://h/live"), "rtmp://h/live");
        assert_eq!(redact("rtmp://h/live/"), "rtmp://h/live/");
        assert_eq!(redact("'rtmp://u:p@h/app/KEY'"), "'rtmp://u:***@h/app/***'");
        // Other schemes keep their paths.
        assert_eq!(redact("rtsp://h/app/stream1"), "rtsp://h/app/stream1");
    }

    #[test]
    fn environment_placeholders_stay_and_expand() {
        let url = "rtsp://admin:${CAM_PASS}@cam/1";
        assert_eq!(redact(url), url);
        let env = |n: &str| (n == "CAM_PASS").then(|| "p@ss:w/rd".to_string());
        assert_eq!(
            expand_env(url, env).unwrap(),
            "rtsp://admin:p%40ss%3Aw%2Frd@cam/1"
        );
        assert_eq!(
            expand_env("rtsp://a:${NOPE}@c", env).unwrap_err(),
            MissingVariable("NOPE".into())
        );
        assert_eq!(
            without_password("rtsp://admin:s3cret@cam/1"),
            "rtsp://admin@cam/1"
        );
        assert_eq!(variables(url), ["CAM_PASS"]);
    }
}
