// Where a model's weights come from: a set of named tensors, memory-mapped, each with its
// stored dtype and shape. A safetensors folder (Checkpoint) is one source, a GGUF file another;
// loaders bind tensors by name through this interface, so the forward pass never knows which.
#pragma once

#include <map>
#include <string>

#include "io/safetensors.h"
#include "util/mapped_file.h"

namespace whale {

class TensorSource {
 public:
  virtual ~TensorSource() = default;
  // The folder or file the tensors come from, for messages.
  virtual const std::string& origin() const = 0;
  // nullptr when absent. Shapes are in PyTorch order, a matrix as [rows, cols] with each row
  // stored contiguously (a GGUF source reverses GGML's [ne0 = cols, ne1 = rows]); data spans
  // rows * dtype_row_bytes(dtype, cols) bytes, block formats included.
  virtual const TensorInfo* find(const std::string& name) const = 0;
  // Every tensor by name, so loaders can report the ones they did not use.
  virtual const std::map<std::string, const TensorInfo*>& tensors() const = 0;
  // Maps every page of the tensors' files now (prefault_files, which may re-read them into
  // 2 MiB pages), once a model computes on them: a mixture-of-experts model would otherwise
  // fault on each expert's pages at its first use, for hundreds of decode steps.
  virtual PrefaultStats prefault(const RereadNotice& /*before_reread*/) const { return {}; }
};

}  // namespace whale
