//! Store-path hash redaction, so snapshots survive any change of inputs:
//! `/nix/store/<32-char hash>-name` → `/nix/store/HASH-name`.

const STORE: &str = "/nix/store/";
const HASH_LEN: usize = 32;

/// Characters of nix's base-32 alphabet (no e, o, u, t).
fn is_nix_base32(c: u8) -> bool {
    matches!(c, b'0'..=b'9' | b'a'..=b'd' | b'f'..=b'n' | b'p'..=b's' | b'v'..=b'z')
}

/// Replace every store hash in `text` with `HASH`.
pub fn redact_store_hashes(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(found) = text[i..].find(STORE) {
        let start = i + found + STORE.len();
        out.push_str(&text[i..start]);
        let end = start + HASH_LEN;
        let is_hash = end < bytes.len()
            && bytes[start..end].iter().all(|&c| is_nix_base32(c))
            && bytes[end] == b'-';
        if is_hash {
            out.push_str("HASH");
            i = end;
        } else {
            i = start;
        }
    }
    out.push_str(&text[i..]);
    out
}

/// Redact every string inside a JSON value.
pub fn redact_value(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => Value::String(redact_store_hashes(s)),
        Value::Array(items) => Value::Array(items.iter().map(redact_value).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (redact_store_hashes(k), redact_value(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_hashes_are_replaced_keeping_the_name() {
        assert_eq!(
            redact_store_hashes(
                "ExecStart=/nix/store/9926x5c9n7ys3lklgv420fv0bzhpba36-inventree-cluster/bin/x \
                 /nix/store/md1lzx3akyfcn6aqr4ighp4swkr05h8w-inventree-config.yaml"
            ),
            "ExecStart=/nix/store/HASH-inventree-cluster/bin/x /nix/store/HASH-inventree-config.yaml"
        );
    }

    #[test]
    fn text_that_is_not_a_store_hash_is_kept() {
        for text in [
            "/nix/store/",
            "/nix/store/short-name",
            "/nix/store/EEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEE-upper",
            "no store here",
        ] {
            assert_eq!(redact_store_hashes(text), text);
        }
    }

    #[test]
    fn json_values_are_redacted_recursively_including_keys() {
        let v = serde_json::json!({
            "/nix/store/9926x5c9n7ys3lklgv420fv0bzhpba36-a": ["/nix/store/md1lzx3akyfcn6aqr4ighp4swkr05h8w-b", 1]
        });
        assert_eq!(
            redact_value(&v),
            serde_json::json!({ "/nix/store/HASH-a": ["/nix/store/HASH-b", 1] })
        );
    }
}
