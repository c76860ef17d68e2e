//! The serializer methods for what neither serializer of `arglist` takes:
//! enum variants and maps, which the general path encodes.

/// Methods of a `Serializer` with `Ok = $ok` and `Error = $err` that
/// refuse enum variants and maps.
macro_rules! refuse_variants {
    ($ok:ty, $err:ty) => {
        fn serialize_unit_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
        ) -> Result<$ok, $err> {
            Err(<$err as serde::ser::Error>::custom(
                "not a plain argument list",
            ))
        }
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<$ok, $err> {
            Err(<$err as serde::ser::Error>::custom(
                "not a plain argument list",
            ))
        }
        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, $err> {
            Err(<$err as serde::ser::Error>::custom(
                "not a plain argument list",
            ))
        }
        fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, $err> {
            Err(<$err as serde::ser::Error>::custom(
                "not a plain argument list",
            ))
        }
        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, $err> {
            Err(<$err as serde::ser::Error>::custom(
                "not a plain argument list",
            ))
        }
    };
}

pub(crate) use refuse_variants;
