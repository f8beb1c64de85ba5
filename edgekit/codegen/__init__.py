"""C code generation: memory planning and emission of model.h / model.c / model_data.c."""
