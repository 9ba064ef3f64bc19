public enum Kernels {}
