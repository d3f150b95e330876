//! A secret value (token, key, password) that cannot leak by accident: it has no `Display`,
//! its `Debug` prints a redaction, it does not implement `Serialize`, and its memory is
//! overwritten when dropped. The only way to the text is [`Secret::expose`], which makes every
//! use greppable.

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret text. Call it only where the value is sent to its platform or its store.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_prints_its_value() {
        let s = Secret::new("dapi-very-secret-token");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Holder {
            token: Secret,
        }
        let printed = format!("{:?}", Holder { token: s.clone() });
        assert!(!printed.contains("very-secret"), "{printed}");
        assert_eq!(s.expose(), "dapi-very-secret-token");
    }
}
