//! How many bytes a value takes at most once the bson crate writes it,
//! found from its serde form without writing anything: a large body is
//! then written once into a buffer of that size, rather than into one
//! that doubles (and copies what it holds, into fresh memory) as it grows.
//!
//! Each value counts what BSON gives it at most: 8 bytes for any number,
//! a length, the bytes and a NUL for a string, a length, a subtype and
//! the bytes for a binary, and for each element of a document or an array
//! its type byte, its key and the key's NUL. Nothing else is written, so
//! the bound holds by at most a few bytes per value (an `i32` takes 4).

use std::fmt;

use serde::ser::{self, Impossible, Serialize, Serializer};

/// A document's or an array's length and terminating NUL.
const CONTAINER: usize = 5;

/// The most any number takes (`i64`, `f64`).
const NUMBER: usize = 8;

/// What a value of a type BSON has no room for gives: its size is not
/// bounded here (the bson crate would refuse it too, or it is of a kind
/// the caller never sizes).
#[derive(Debug)]
pub(crate) struct Unsized;

impl fmt::Display for Unsized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not sized")
    }
}

impl std::error::Error for Unsized {}

impl ser::Error for Unsized {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Self
    }
}

/// The size of a value's bytes as an element of a document or an array
/// (without its type byte and key): an upper bound, see the module docs.
pub(crate) struct Sizer;

/// An element's type byte, `key` and the key's NUL.
fn element(key: usize) -> usize {
    1 + key + 1
}

/// How many decimal digits `index` has: the length of an array's key.
fn digits(index: usize) -> usize {
    index.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// An array's elements, keyed by their index.
pub(crate) struct Items {
    size: usize,
    next: usize,
}

impl Items {
    fn add<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsized> {
        self.size += element(digits(self.next)) + value.serialize(Sizer)?;
        self.next += 1;
        Ok(())
    }
}

/// `Items` as serde's sequence-like serializer `$kind`, whose method for
/// one element is `$element`.
macro_rules! items {
    ($kind:ident, $element:ident) => {
        impl ser::$kind for Items {
            type Ok = usize;
            type Error = Unsized;
            fn $element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Unsized> {
                self.add(value)
            }
            fn end(self) -> Result<usize, Unsized> {
                Ok(self.size)
            }
        }
    };
}

items!(SerializeSeq, serialize_element);
items!(SerializeTuple, serialize_element);
items!(SerializeTupleStruct, serialize_field);

/// A document's fields, keyed by their names.
pub(crate) struct Fields(usize);

impl ser::SerializeStruct for Fields {
    type Ok = usize;
    type Error = Unsized;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Unsized> {
        self.0 += element(key.len()) + value.serialize(Sizer)?;
        Ok(())
    }
    fn end(self) -> Result<usize, Unsized> {
        Ok(self.0)
    }
}

impl Serializer for Sizer {
    type Ok = usize;
    type Error = Unsized;
    type SerializeSeq = Items;
    type SerializeTuple = Items;
    type SerializeTupleStruct = Items;
    type SerializeTupleVariant = Impossible<usize, Unsized>;
    type SerializeMap = Impossible<usize, Unsized>;
    type SerializeStruct = Fields;
    type SerializeStructVariant = Impossible<usize, Unsized>;

    fn serialize_bool(self, _: bool) -> Result<usize, Unsized> {
        Ok(1)
    }
    fn serialize_i8(self, _: i8) -> Result<usize, Unsized> {
        Ok(NUMBER)
    }
    fn serialize_i16(self, _: i16) -> Result<usize, Unsized> {
        Ok(NUMBER)
    }
    fn serialize_i32(self, _: i32) -> Result<usize, Unsized> {
        Ok(NUMBER)
    }
    fn serialize_i64(self, _: i64) -> Result<usize, Unsized> {
        Ok(NUMBER)
    }
    fn serialize_u8(self, _: u8) -> Result<usize, Unsized> {
        Ok(NUMBER)
    }
    fn serialize_u16(self, _: u16) -> Result<usize, Unsized> {
        Ok(NUMBER)
    }
    fn serialize_u32(self, _: u32) -> Result<usize, Unsized> {
        Ok(NUMBER)
    }
    fn serialize_u64(self, _: u64) -> Result<usize, Unsized> {
        Ok(NUMBER)
    }
    fn serialize_f32(self, _: f32) -> Result<usize, Unsized> {
        Ok(NUMBER)
    }
    fn serialize_f64(self, _: f64) -> Result<usize, Unsized> {
        Ok(NUMBER)
    }
    fn serialize_char(self, v: char) -> Result<usize, Unsized> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<usize, Unsized> {
        Ok(4 + v.len() + 1)
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<usize, Unsized> {
        Ok(4 + 1 + v.len())
    }
    fn serialize_none(self) -> Result<usize, Unsized> {
        Ok(0)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<usize, Unsized> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<usize, Unsized> {
        Ok(0)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<usize, Unsized> {
        Ok(0)
    }
    super::refuse::refuse_variants!(usize, Unsized);
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<usize, Unsized> {
        Err(Unsized)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Items, Unsized> {
        Ok(Items {
            size: CONTAINER,
            next: 0,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Items, Unsized> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Items, Unsized> {
        self.serialize_seq(Some(len))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Fields, Unsized> {
        Ok(Fields(CONTAINER))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_keys_are_as_long_as_their_indices() {
        assert_eq!([0, 9, 10, 99, 100, 123_456].map(digits), [1, 1, 2, 2, 3, 6]);
    }

    #[derive(serde::Serialize)]
    struct Doc<'a> {
        name: &'a str,
        list: (i32, &'a str, Option<f64>, bool, char, Vec<u8>),
    }

    #[test]
    fn the_bound_covers_what_the_bson_crate_writes() {
        let long = "x".repeat(70_000);
        let doc = Doc {
            name: "héllo",
            list: (7, &long, None, true, '✓', vec![1; 300]),
        };
        let bound = doc.serialize(Sizer).unwrap();
        let written = bson::serialize_to_vec(&doc).unwrap().len();
        assert!(bound >= written, "{bound} < {written}");
        assert!(bound <= written + 4 * 310, "{bound} far above {written}");
    }
}
