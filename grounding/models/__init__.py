"""Chat models behind the model-backed grounders and planners: the ChatModel protocol (base) and
its clients, an OpenAI-compatible endpoint and a local transformers checkpoint. No factory here:
the registry (guiagent.registry.build_chat_model) assembles them."""
