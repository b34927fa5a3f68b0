#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <utility>
#include <vector>
#include <set>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "nn/networks.h"
#include "nn/safetensors.h"

namespace hilserl::nn {
namespace {

TEST(EnsembleMLPTest, MembersAreIndependentWithTheirOwnHeads) {
  torch::manual_seed(0);
  EnsembleMLP net(3, 4, std::vector<int64_t>{8, 8}, 1);
  const torch::Tensor x = torch::randn({5, 4});
  const torch::Tensor y = net->forward(x);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{3, 5, 1}));
  // Members differ (independent initialisation, separate output layers).
  EXPECT_GT((y[0] - y[1]).abs().max().item<float>(), 1e-4);
  // Changing member 2's output head changes only member 2.
  {
    torch::NoGradGuard g;
    net->named_parameters()["b2"][2].add_(1.0);
  }
  const torch::Tensor z = net->forward(x);
  EXPECT_TRUE(torch::allclose(z[0], y[0]));
  EXPECT_TRUE(torch::allclose(z[1], y[1]));
  EXPECT_TRUE(torch::allclose(z[2], y[2] + 1.0));
}

TEST(EnsembleMLPTest, MatchesPerMemberReference) {
  torch::manual_seed(1);
  EnsembleMLP net(2, 3, std::vector<int64_t>{4}, 2);
  auto p = net->named_parameters();
  const torch::Tensor x = torch::randn({6, 3});
  const torch::Tensor y = net->forward(x);
  for (int m = 0; m < 2; ++m) {
    torch::Tensor h = torch::matmul(x, p["w0"][m]) + p["b0"][m];
    h = torch::layer_norm(h, {4});
    h = torch::tanh(h * p["ln_g0"][m] + p["ln_b0"][m]);
    const torch::Tensor out = torch::matmul(h, p["w1"][m]) + p["b1"][m];
    EXPECT_TRUE(torch::allclose(out, y[m], 1e-5, 1e-6)) << m;
  }
}

TEST(PolicyTest, LogProbMatchesChangeOfVariables) {
  torch::manual_seed(2);
  TanhGaussianPolicy pi(3, std::vector<int64_t>{16}, 2);
  const torch::Tensor s = torch::randn({4, 3});
  torch::manual_seed(3);
  const PolicyOutput out = pi->forward(s);
  // Recompute by hand: u = atanh(a), log N(u) - sum log(1 - a^2).
  const PolicyOutput det = pi->forward(s, true);
  const torch::Tensor mean_u = torch::atanh(det.mean);
  const torch::Tensor pre = torch::atanh(out.action.clamp(-1 + 1e-6, 1 - 1e-6));
  const torch::Tensor std = out.std;
  const torch::Tensor log_n = -0.5 * ((pre - mean_u) / std).pow(2) - std.log() - 0.5 * std::log(2 * M_PI);
  const torch::Tensor expected = (log_n - torch::log(1 - out.action.pow(2))).sum(-1);
  EXPECT_TRUE(torch::allclose(out.log_prob, expected, 1e-3, 1e-3)) << out.log_prob << expected;
  EXPECT_LE(out.action.abs().max().item<float>(), 1.0f);
  const torch::Tensor u = torch::tensor({0.0, 1.0, -2.0}, torch::kFloat64);
  EXPECT_TRUE(torch::allclose(LogOneMinusTanhSquared(u), torch::log(1 - torch::tanh(u).pow(2)), 1e-9, 1e-9));
  // Stays finite where the naive formula gives log(0).
  EXPECT_NEAR(LogOneMinusTanhSquared(torch::tensor({30.0}, torch::kFloat64))[0].item<double>(),
              2 * (std::log(2.0) - 30.0), 1e-9);
}

TEST(PolyakTest, MovesTargetByTau) {
  MLP a(2, std::vector<int64_t>{3}, 1), b(2, std::vector<int64_t>{3}, 1);
  HardUpdate(*b, *a);
  torch::Tensor before = b->parameters()[0].clone();
  {
    torch::NoGradGuard g;
    for (auto& p : a->parameters()) p.add_(1.0);
  }
  PolyakUpdate(*b, *a, 0.1);
  EXPECT_TRUE(torch::allclose(b->parameters()[0], before + 0.1, 1e-5, 1e-6));
}

TEST(SafetensorsTest, RoundTripAndClearErrors) {
  const auto dir = std::filesystem::temp_directory_path() / "hilserl_st_test";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "w.safetensors").string();
  MLP net(3, std::vector<int64_t>{4}, 2);
  SaveSafetensors(path, StateDict(*net), {{"arch", "mlp"}});
  Metadata meta;
  TensorMap loaded = LoadSafetensors(path, &meta);
  EXPECT_EQ(meta["arch"], "mlp");
  MLP other(3, std::vector<int64_t>{4}, 2);
  LoadStateDict(*other, loaded, path);
  for (const auto& [k, v] : StateDict(*net)) EXPECT_TRUE(torch::equal(v, StateDict(*other)[k])) << k;

  // Missing tensor: named.
  TensorMap missing = loaded;
  missing.erase("head.weight");
  try {
    LoadStateDict(*other, missing, "w.safetensors");
    FAIL();
  } catch (const DataLoss& e) {
    EXPECT_NE(std::string(e.what()).find("missing tensor 'head.weight'"), std::string::npos) << e.what();
  }
  // Wrong shape: named with both shapes.
  TensorMap wrong = loaded;
  wrong["head.weight"] = torch::zeros({5, 4});
  try {
    LoadStateDict(*other, wrong, "w.safetensors");
    FAIL();
  } catch (const DataLoss& e) {
    EXPECT_NE(std::string(e.what()).find("'head.weight' has shape [5, 4], expected [2, 4]"), std::string::npos)
        << e.what();
  }
  // Truncated file.
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 8);
  EXPECT_THROW(LoadSafetensors(path), DataLoss);
  std::ofstream(dir / "junk.safetensors") << "junk";
  EXPECT_THROW(LoadSafetensors((dir / "junk.safetensors").string()), DataLoss);
  // Corrupt headers: a negative or huge dimension is a file error naming the file, never
  // an allocation.
  auto with_shape = [&](const std::string& name, const std::string& shape) {
    const std::string header = "{\"t\":{\"dtype\":\"F32\",\"shape\":" + shape + ",\"data_offsets\":[0,16]}}";
    const std::string file = (dir / name).string();
    std::ofstream out(file, std::ios::binary);
    const uint64_t n = header.size();
    out.write(reinterpret_cast<const char*>(&n), 8);
    out << header << std::string(16, '\0');
    return file;
  };
  for (const auto& [name, shape] : std::vector<std::pair<std::string, std::string>>{
           {"negative.safetensors", "[-4,-1]"}, {"huge.safetensors", "[4611686018427387904,4]"},
           {"short.safetensors", "[2,3]"}}) {
    const std::string file = with_shape(name, shape);
    try {
      LoadSafetensors(file);
      ADD_FAILURE() << name << " accepted";
    } catch (const DataLoss& e) {
      EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(LoadSafetensors(with_shape("ok.safetensors", "[2,2]")).at("t").numel(), 4);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace hilserl::nn

#include "nn/backbone.h"
#include "nn/encoder.h"
#include "nn/pretrain.h"
#include "nn/resnet.h"

namespace hilserl::nn {
namespace {

TEST(ResNet10Test, ShapesNamesAndLoading) {
  torch::manual_seed(5);
  ResNet10 net;
  torch::NoGradGuard g;
  const torch::Tensor images = torch::randint(0, 256, {2, 128, 128, 3}).to(torch::kUInt8);
  const torch::Tensor out = net->forward(images);
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 512, 4, 4}));
  const TensorMap sd = StateDict(*net);
  ASSERT_TRUE(sd.count("embedder.embedder.convolution.weight"));
  EXPECT_EQ(sd.at("embedder.embedder.convolution.weight").sizes(), (std::vector<int64_t>{64, 3, 7, 7}));
  EXPECT_EQ(sd.at("encoder.stages.3.layers.0.layer.1.convolution.weight").sizes(),
            (std::vector<int64_t>{512, 512, 3, 3}));
  EXPECT_TRUE(sd.count("encoder.stages.1.layers.0.shortcut.normalization.bias"));
  EXPECT_FALSE(sd.count("encoder.stages.0.layers.0.shortcut.convolution.weight"));
  // 10 conv layers with weights (stem + 4 x 2) plus 3 projection shortcuts.
  int convs = 0;
  for (const auto& [k, v] : sd) convs += k.find("convolution.weight") != std::string::npos;
  EXPECT_EQ(convs, 12);

  // Weights from a file reproduce the same features; a missing tensor is named.
  ResNet10 other;
  LoadStateDict(*other, sd, "resnet10.safetensors");
  EXPECT_TRUE(torch::allclose(other->forward(images), out));
  TensorMap missing = sd;
  missing.erase("encoder.stages.2.layers.0.layer.0.normalization.weight");
  try {
    LoadStateDict(*other, missing, "resnet10.safetensors");
    FAIL();
  } catch (const DataLoss& e) {
    EXPECT_NE(std::string(e.what()).find("encoder.stages.2.layers.0.layer.0.normalization.weight"), std::string::npos);
  }
}

TEST(ImageHeadTest, SpatialEmbeddingMatchesDefinition) {
  torch::manual_seed(6);
  SpatialEmbeddings emb(3, 2, 2, 4);
  const torch::Tensor x = torch::randn({5, 3, 2, 2});
  const torch::Tensor y = emb->forward(x);
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{5, 12}));
  const torch::Tensor k = emb->named_parameters()["kernel"];  // [C, HW, F]
  // Feature (c = 1, f = 2) of sample 3 by the definition sum_{h,w} x[c,h,w] k[c,hw,f].
  const double expected = (x[3][1].flatten() * k[1].select(1, 2)).sum().item<double>();
  EXPECT_NEAR(y[3][1 * 4 + 2].item<double>(), expected, 1e-5);
  ImageHead head(512, 4, 4);
  head->eval();
  const torch::Tensor z = head->forward(torch::randn({2, 512, 4, 4}));
  EXPECT_EQ(z.sizes(), (std::vector<int64_t>{2, 256}));
  EXPECT_LE(z.abs().max().item<float>(), 1.0f);
}

TEST(ObsEncoderTest, SplitsProprioAndCamerasAndEmbedsEach) {
  torch::manual_seed(7);
  EncoderSpec spec;
  spec.proprio_dim = 5;
  spec.cameras = {"front", "wrist"};
  spec.channels = 8;
  spec.height = spec.width = 2;
  spec.proprio_latent = 4;
  spec.bottleneck = 6;
  spec.spatial_features = 3;
  EXPECT_EQ(spec.input_dim(), 5 + 2 * 32);
  EXPECT_EQ(spec.output_dim(), 4 + 2 * 6);
  ObsEncoder enc(spec);
  enc->eval();
  torch::Tensor x = torch::randn({3, spec.input_dim()});
  const torch::Tensor z = enc->forward(x);
  ASSERT_EQ(z.sizes(), (std::vector<int64_t>{3, 16}));
  // Changing the wrist features changes only the wrist embedding.
  torch::Tensor y = x.clone();
  y.slice(1, 5 + 32).add_(1.0);
  const torch::Tensor w = enc->forward(y);
  EXPECT_TRUE(torch::equal(w.slice(1, 0, 10), z.slice(1, 0, 10)));
  EXPECT_FALSE(torch::allclose(w.slice(1, 10), z.slice(1, 10)));
}

TEST(RandomShiftTest, ShiftsEachImageWithinThePadAndReplicatesEdges) {
  torch::manual_seed(3);
  // Image k holds the values 100 k + 10 r + c at (r, c): a shifted copy is recognisable.
  const int64_t b = 16, s = 6, pad = 2;
  torch::Tensor x = torch::empty({b, 1, s, s});
  for (int64_t k = 0; k < b; ++k)
    for (int64_t r = 0; r < s; ++r)
      for (int64_t c = 0; c < s; ++c) x[k][0][r][c] = static_cast<float>(100 * k + 10 * r + c);
  EXPECT_TRUE(torch::equal(RandomShift(x, 0), x));
  const torch::Tensor y = RandomShift(x, pad);
  ASSERT_EQ(y.sizes(), x.sizes());
  std::set<std::pair<int64_t, int64_t>> offsets;
  for (int64_t k = 0; k < b; ++k) {
    // The centre pixel of the output comes from (r0 + dy, c0 + dx) of the padded image,
    // i.e. the source pixel clamped to the image: find the shift from an interior pixel.
    const int64_t v = static_cast<int64_t>(y[k][0][2][2].item<float>()) - 100 * k;
    const int64_t dy = v / 10 - 2, dx = v % 10 - 2;
    ASSERT_LE(std::abs(dy), pad);
    ASSERT_LE(std::abs(dx), pad);
    offsets.insert({dy, dx});
    for (int64_t r = 0; r < s; ++r) {
      for (int64_t c = 0; c < s; ++c) {
        const int64_t sr = std::clamp<int64_t>(r + dy, 0, s - 1), sc = std::clamp<int64_t>(c + dx, 0, s - 1);
        ASSERT_EQ(y[k][0][r][c].item<float>(), static_cast<float>(100 * k + 10 * sr + sc)) << k << " " << r << " " << c;
      }
    }
  }
  EXPECT_GT(offsets.size(), 4u);  // the offsets differ between images
}

TEST(ConvHeadTest, EndToEndEncoderLearnsFromPixelsAndAugmentsOnlyInTraining) {
  torch::manual_seed(5);
  EncoderSpec spec;
  spec.proprio_dim = 2;
  spec.cameras = {"wrist"};
  spec.head = "conv";
  spec.channels = 3;
  spec.height = spec.width = 24;
  spec.conv_channels = 8;
  spec.bottleneck = 16;
  spec.proprio_latent = 4;
  spec.shift_pad = 2;
  ObsEncoder enc(spec);
  const torch::Tensor x = torch::rand({4, spec.input_dim()});
  enc->eval();
  EXPECT_TRUE(torch::equal(enc->forward(x), enc->forward(x)));  // no augmentation when acting
  enc->train();
  EXPECT_FALSE(torch::equal(enc->forward(x), enc->forward(x)));  // random shifts in training
  // Gradients reach the convolutions: a regression on a pixel property trains the head.
  const torch::Tensor pixels = torch::rand({64, 3 * 24 * 24});
  torch::Tensor target = pixels.view({64, 3, 24, 24}).select(1, 0).mean({1, 2}) * 4 - 2;  // red brightness
  const torch::Tensor rows = torch::cat({torch::zeros({64, 2}), pixels}, 1);
  torch::nn::Linear out(spec.output_dim(), 1);
  std::vector<torch::Tensor> params = enc->parameters();
  for (auto& p : out->parameters()) params.push_back(p);
  torch::optim::Adam opt(params, torch::optim::AdamOptions(3e-3));
  double first = 0, last = 0;
  for (int i = 0; i < 150; ++i) {
    const torch::Tensor loss = (out->forward(enc->forward(rows)).squeeze(1) - target).pow(2).mean();
    if (i == 0) first = loss.item<double>();
    last = loss.item<double>();
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  EXPECT_LT(last, 0.3 * first);
}

TEST(FrozenBackboneTest, PixelStemDownsamplesToUnitRange) {
  Observation o;
  Image a(64, 64);
  for (size_t i = 0; i < a.data.size(); ++i) a.data[i] = (i / 3) % 2 == 0 ? 255 : 0;  // alternating columns
  o.images["wrist"] = a;
  auto stem = FrozenBackbone::Pixels({"wrist"}, 64, 32);
  EXPECT_TRUE(stem->is_pixel_stem());
  EXPECT_EQ(stem->feature_size(), 3 * 32 * 32);
  EXPECT_TRUE(stem->Weights().empty());
  stem->Encode(&o);
  const std::vector<float>& f = o.features.at("wrist");
  ASSERT_EQ(f.size(), static_cast<size_t>(3 * 32 * 32));
  for (float v : f) ASSERT_FLOAT_EQ(v, 0.5f);  // 2x2 areas of one white and one black column
  EXPECT_THROW(FrozenBackbone::Pixels({"wrist"}, 64, 128), InvalidArgument);
}

TEST(FrozenBackboneTest, EncodesEveryCameraDeterministicallyPerSeed) {
  Observation o;
  Image a(64, 64), b(64, 64);
  for (size_t i = 0; i < a.data.size(); ++i) {
    a.data[i] = static_cast<uint8_t>(i % 251);
    b.data[i] = static_cast<uint8_t>((i * 7) % 253);
  }
  o.images["front"] = a;
  o.images["wrist"] = b;
  torch::manual_seed(1);
  const torch::Tensor before = torch::rand({1});
  torch::manual_seed(1);
  FrozenBackbone net({"front", "wrist"}, 64, "", 3);
  EXPECT_TRUE(torch::equal(torch::rand({1}), before));  // the caller's generator is untouched
  Observation o2 = o;
  net.Encode(&o);
  ASSERT_EQ(o.features.at("front").size(), static_cast<size_t>(512 * 2 * 2));
  EXPECT_NE(o.features.at("front"), o.features.at("wrist"));
  FrozenBackbone same({"front", "wrist"}, 64, "", 3), other({"front", "wrist"}, 64, "", 4);
  Observation o3 = o2;
  same.Encode(&o2);
  other.Encode(&o3);
  EXPECT_EQ(o2.features.at("front"), o.features.at("front"));
  EXPECT_NE(o3.features.at("front"), o.features.at("front"));
  // The weights round-trip through a file.
  const std::string path = (std::filesystem::temp_directory_path() / "hilserl_backbone.safetensors").string();
  SaveSafetensors(path, net.Weights());
  FrozenBackbone loaded({"front", "wrist"}, 64, path, 99);
  Observation o4 = o3;
  loaded.Encode(&o4);
  EXPECT_EQ(o4.features.at("wrist"), o.features.at("wrist"));
  // Wrong image sizes are refused with the camera's name.
  o4.images["wrist"] = Image(32, 32);
  try {
    loaded.Encode(&o4);
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("wrist"), std::string::npos);
  }
}

TEST(PretrainTest, ContrastiveStepsChangeTheBackboneAndItLoadsAsAnEncoder) {
  // 8 distinct 64x64 frames (coloured squares at different places).
  std::vector<Image> frames;
  for (int k = 0; k < 8; ++k) {
    Image im(64, 64);
    for (int r = 0; r < 20; ++r) {
      for (int c = 0; c < 20; ++c) im.at(4 + 5 * k + r % 8, 4 + c + 3 * k, k % 3) = 255;
    }
    frames.push_back(im);
  }
  PretrainOptions o;
  o.steps = 3;
  o.batch = 4;
  o.train_size = 32;
  const PretrainResult r = PretrainBackbone(frames, o);
  EXPECT_TRUE(std::isfinite(r.final_loss));
  EXPECT_GT(r.first_loss, 0.0);
  ASSERT_TRUE(r.backbone.count("embedder.embedder.convolution.weight"));
  torch::manual_seed(0);  // the seed PretrainBackbone starts from
  ResNet10 untrained;
  EXPECT_FALSE(torch::allclose(untrained->named_parameters()["embedder.embedder.convolution.weight"],
                               r.backbone.at("embedder.embedder.convolution.weight")));
  const std::string path = (std::filesystem::temp_directory_path() / "hilserl_pretrained.safetensors").string();
  SaveSafetensors(path, r.backbone);
  FrozenBackbone backbone({"cam"}, 64, path, 0);
  Observation obs;
  obs.images["cam"] = frames[0];
  backbone.Encode(&obs);
  EXPECT_EQ(obs.features.at("cam").size(), static_cast<size_t>(512 * 2 * 2));
  // Bad input is refused.
  EXPECT_THROW(PretrainBackbone({frames[0]}, o), InvalidArgument);
  std::vector<Image> mixed = {frames[0], Image(32, 32)};
  EXPECT_THROW(PretrainBackbone(mixed, o), InvalidArgument);
}

}  // namespace
}  // namespace hilserl::nn
