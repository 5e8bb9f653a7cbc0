//! JSON read the way Go's `encoding/json` reads it into a struct, which is how the AWS Load
//! Balancer Controller reads the action and condition annotations: a key matches a field
//! exactly or ignoring case, and when several keys of one object match the same field the last
//! one in the text wins; an object decoded into a field that already holds one is merged into
//! it, as Go decodes into the struct it already has. [`parse`] keeps, of each set of keys that
//! differ only in case, one (merged objects, else the last value); [`get_ci`] then finds a
//! field in any case.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A JSON value whose objects kept, of keys equal but for case, the last in the text.
struct Folded(Value);

struct FoldedVisitor;

impl<'de> Visitor<'de> for FoldedVisitor {
    type Value = Folded;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Folded, E> {
        Ok(Folded(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Folded, E> {
        Ok(Folded(Value::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Folded, E> {
        Ok(Folded(Value::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Folded, E> {
        Ok(Folded(Value::from(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Folded, E> {
        Ok(Folded(Value::String(v.to_string())))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Folded, E> {
        Ok(Folded(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Folded, A::Error> {
        let mut items = Vec::new();
        while let Some(Folded(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Folded(Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Folded, A::Error> {
        let mut object = Map::new();
        while let Some((key, Folded(value))) = map.next_entry::<String, Folded>()? {
            insert_folded(&mut object, key, value);
        }
        Ok(Folded(Value::Object(object)))
    }
}

/// Puts `value` under `key`, in place of a key equal but for case: an object into an object
/// merges (its keys folded the same way), anything else replaces.
fn insert_folded(object: &mut Map<String, Value>, key: String, value: Value) {
    let earlier = object
        .keys()
        .find(|k| k.eq_ignore_ascii_case(&key))
        .cloned()
        .and_then(|k| object.remove(&k));
    let value = match (earlier, value) {
        (Some(Value::Object(mut into)), Value::Object(from)) => {
            for (k, v) in from {
                insert_folded(&mut into, k, v);
            }
            Value::Object(into)
        }
        (_, later) => later,
    };
    object.insert(key, value);
}

impl<'de> Deserialize<'de> for Folded {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Folded, D::Error> {
        d.deserialize_any(FoldedVisitor)
    }
}

/// Parses JSON text; of the keys of one object that differ only in case, the last in the
/// text is kept.
pub fn parse(text: &str) -> serde_json::Result<Value> {
    serde_json::from_str::<Folded>(text).map(|f| f.0)
}

/// Looks a key up the way Go's encoding/json matches struct fields: exact, else ignoring case
/// (after [`parse`] at most one key of each spelling is left); `null` reads as absent.
pub fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key)
        .or_else(|| {
            obj.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v)
        })
        .filter(|v| !v.is_null())
}
