/* Empty translation unit: keeps each module library valid while it has no other source. */
typedef int tern_empty_translation_unit;
