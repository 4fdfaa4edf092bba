"""Trainable models: the Auto-UI network (`autoui_model`), its training (`autoui_train`), its
text format (`autoui_text`) and pluggable image encoders (`vision`). torch is imported lazily."""
