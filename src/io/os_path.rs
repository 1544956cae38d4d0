//! Paths in JSON files without loss: a file name that is not UTF-8 (Linux allows any bytes but `/`
//! and NUL) is kept as its bytes, `{"bytes":[…]}`, and every other path as the plain string serde
//! writes for a `PathBuf`. `#[serde(with = "os_path")]` on a `PathBuf`, `os_path::option` on an
//! `Option<PathBuf>`.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Repr {
    Text(String),
    Bytes { bytes: Vec<u8> },
}

impl Repr {
    fn of(path: &Path) -> Repr {
        match path.to_str() {
            Some(text) => Repr::Text(text.to_string()),
            None => Repr::Bytes {
                bytes: path.as_os_str().as_bytes().to_vec(),
            },
        }
    }

    fn path(self) -> PathBuf {
        match self {
            Repr::Text(text) => PathBuf::from(text),
            Repr::Bytes { bytes } => PathBuf::from(OsString::from_vec(bytes)),
        }
    }
}

pub fn serialize<S: Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    Repr::of(path).serialize(s)
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
    Ok(Repr::deserialize(d)?.path())
}

pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(path: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
        path.as_deref().map(Repr::of).serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
        Ok(Option::<Repr>::deserialize(d)?.map(Repr::path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Holder {
        #[serde(with = "super")]
        path: PathBuf,
        #[serde(with = "super::option", default)]
        maybe: Option<PathBuf>,
    }

    #[test]
    fn any_file_name_survives_a_round_trip() {
        for raw in [
            &b"plain/clip.mp4"[..],
            b"caf\xe9/\xff\xfe.mp4",
            b"quote\"back\\slash",
        ] {
            let path = PathBuf::from(OsString::from_vec(raw.to_vec()));
            let holder = Holder {
                path: path.clone(),
                maybe: Some(path.clone()),
            };
            let json = serde_json::to_string(&holder).unwrap();
            assert_eq!(serde_json::from_str::<Holder>(&json).unwrap(), holder);
        }
        // UTF-8 names read as before (a plain string).
        let json = serde_json::to_string(&Holder {
            path: "a/b.mp4".into(),
            maybe: None,
        })
        .unwrap();
        assert_eq!(json, r#"{"path":"a/b.mp4","maybe":null}"#);
    }
}
